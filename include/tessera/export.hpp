// TESSERA_API marks what libtessera exports; everything else is hidden
// (-fvisibility=hidden).
#pragma once

#define TESSERA_API __attribute__((visibility("default")))
