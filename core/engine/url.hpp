// URL parsing for Db::open (RFC 3986 through Boost.URL, plus the
// `sqlite::memory:` form).
#pragma once

#include <string_view>

#include "tessera/driver/error.hpp"
#include "tessera/driver/url.hpp"
#include "tessera/export.hpp"

namespace tessera::detail {

// Errors: invalid_url with the reason; the password never appears in it.
TESSERA_API Result<Url> parse_url(std::string_view text);

}  // namespace tessera::detail
