// The plugin ABI: how a shared library exposes a Driver to the loader.
//
// A plugin exports two extern "C" symbols, made by TESSERA_PLUGIN():
//   tessera_plugin_descriptor  a TesseraPluginDescriptor (C types only)
//   tessera_plugin_create      the factory
// The loader reads the descriptor and checks the ABI version, the Tessera
// version and the compiler/standard-library tag *before* calling the factory,
// so no C++ type crosses until both sides are known to agree.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <exception>

#include "tessera/driver/driver.hpp"

// Bumped whenever any type in include/tessera/driver changes layout or
// meaning. A plugin built against another ABI version is refused.
// 2: op::QuerySql::reads_all, Capability::row_at_a_time_writes
// 3: op::UpdateMany (a new Operation alternative), Capability::update_many,
//    Value::text_view (a ninth variant alternative; as_text() returns a view),
//    op::RawSql::reads_all, Rows::size_hint
// 4: Connection::read (a new virtual) and RowSink
// 5: Connection::write (a new virtual); op::GetByKey keys live during exec(), empty columns: all
// 6: op::Insert::source (InsertRowSource), Capability::insert_row_source
// 7: InsertRowSource::bind_row (a new virtual) and RowBinder
// 8: InsertRowSource::generated_key (a new virtual)
#define TESSERA_PLUGIN_ABI_VERSION 8u
#define TESSERA_VERSION_STRING "0.1.0"

#define TESSERA_DETAIL_STR2(x) #x
#define TESSERA_DETAIL_STR(x) TESSERA_DETAIL_STR2(x)

// Which compiler and standard library built this translation unit. Two
// binaries may exchange C++ types only if their tags are equal.
#if defined(__clang__)
#define TESSERA_DETAIL_COMPILER "clang-" TESSERA_DETAIL_STR(__clang_major__)
#elif defined(__GNUC__)
#define TESSERA_DETAIL_COMPILER "gcc-" TESSERA_DETAIL_STR(__GNUC__)
#else
#define TESSERA_DETAIL_COMPILER "unknown"
#endif
#if defined(_GLIBCXX_RELEASE)
#define TESSERA_DETAIL_STDLIB                                                  \
  "libstdc++-" TESSERA_DETAIL_STR(_GLIBCXX_RELEASE) "-abi" TESSERA_DETAIL_STR( \
      _GLIBCXX_USE_CXX11_ABI)
#elif defined(_LIBCPP_VERSION)
#define TESSERA_DETAIL_STDLIB "libc++-" TESSERA_DETAIL_STR(_LIBCPP_VERSION)
#else
#define TESSERA_DETAIL_STDLIB "unknown"
#endif
#define TESSERA_COMPILER_TAG TESSERA_DETAIL_COMPILER "/" TESSERA_DETAIL_STDLIB

extern "C" {

// Layout is frozen for ABI version 1; new fields go at the end and
// `struct_size` tells the loader which are present.
struct TesseraPluginDescriptor {
  std::uint32_t abi_version;    // TESSERA_PLUGIN_ABI_VERSION of the plugin's build
  std::uint32_t struct_size;    // sizeof(TesseraPluginDescriptor) of the plugin's build
  const char* tessera_version;  // TESSERA_VERSION_STRING
  const char* compiler_tag;     // TESSERA_COMPILER_TAG
  const char* driver_name;      // "sqlite"
  const char* schemes;          // comma-separated: "mysql,mariadb"
};

// Creates the driver. Returns null and writes a message into `error` (up to
// `error_size` bytes, NUL-terminated) on failure; never throws. The caller
// owns the result and destroys it with `delete` on its side (same ABI).
typedef void* (*TesseraPluginCreateFn)(char* error, std::size_t error_size);
}

#if defined(TESSERA_PLUGIN_ABI_OVERRIDE)
// Test fixtures only: build a plugin that claims another ABI version.
#define TESSERA_DETAIL_PLUGIN_ABI TESSERA_PLUGIN_ABI_OVERRIDE
#else
#define TESSERA_DETAIL_PLUGIN_ABI TESSERA_PLUGIN_ABI_VERSION
#endif
#if defined(TESSERA_PLUGIN_COMPILER_TAG_OVERRIDE)
// Test fixtures only: build a plugin that claims another compiler tag.
#define TESSERA_DETAIL_PLUGIN_COMPILER_TAG TESSERA_PLUGIN_COMPILER_TAG_OVERRIDE
#else
#define TESSERA_DETAIL_PLUGIN_COMPILER_TAG TESSERA_COMPILER_TAG
#endif

// Defines the plugin's exported entry points. Use once per plugin library:
//   TESSERA_PLUGIN("sqlite", "sqlite", [] { return std::make_unique<SqliteDriver>(); })
// `make_driver` is any callable returning std::unique_ptr<D>, D a Driver.
#define TESSERA_PLUGIN(driver_name_literal, schemes_literal, make_driver)        \
  extern "C" __attribute__((visibility("default")))                              \
  const TesseraPluginDescriptor tessera_plugin_descriptor = {                    \
      TESSERA_DETAIL_PLUGIN_ABI, sizeof(TesseraPluginDescriptor),                \
      TESSERA_VERSION_STRING,    TESSERA_DETAIL_PLUGIN_COMPILER_TAG,             \
      driver_name_literal,       schemes_literal};                               \
  extern "C" __attribute__((visibility("default"))) void* tessera_plugin_create( \
      char* error, std::size_t error_size) {                                     \
    try {                                                                        \
      std::unique_ptr<::tessera::Driver> d = (make_driver)();                    \
      return d.release();                                                        \
    } catch (const std::exception& e) {                                          \
      std::snprintf(error, error_size, "%s", e.what());                          \
    } catch (...) {                                                              \
      std::snprintf(error, error_size, "unknown exception");                     \
    }                                                                            \
    return nullptr;                                                              \
  }
