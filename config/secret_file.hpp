// auth.secret_file: REST secrets kept in a file of their own, outside the config (the packages
// generate /etc/turnd/secret at install time), read whenever the config is loaded.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/value_parsers.hpp"

namespace turnd::config {

/// Largest secret file read; anything bigger is not a list of secrets.
inline constexpr std::size_t kMaxSecretFileBytes = 64 * 1024;

/// The secrets in the file at `path`: one per line, newest first, surrounding blanks trimmed,
/// blank lines and lines starting with '#' skipped. Refused, with a phrase (naming the line of
/// a bad secret, never the secret; the caller names the file): a file that cannot be read, is not a
/// regular file, holds no secret or more than kMaxSecretFileBytes, can be read by others (o+r) or
/// written by anyone but its owner (g+w, o+w). Group read is allowed: the packages install it 0640
/// root:turnd.
Parsed<std::vector<std::string>> read_secret_file(std::string_view path);

}  // namespace turnd::config
