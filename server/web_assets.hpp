// The files of the web listener's pages (server/web/), compiled in by server/web/CMakeLists.txt:
// the only files it serves, looked up by exact path, so there is no document root to escape.
#pragma once

#include <span>
#include <string_view>

namespace turnd::server {

struct WebAsset {
  std::string_view path;          ///< "/call.js": where it is served
  std::string_view content_type;  ///< "text/javascript; charset=utf-8"
  std::string_view body;
};

/// Every embedded file.
std::span<const WebAsset> web_assets() noexcept;

}  // namespace turnd::server
