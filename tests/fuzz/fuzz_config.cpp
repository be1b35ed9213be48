// libFuzzer target for the YAML config loader (config/load.*). Input: YAML text.
// Properties: load_string never crashes and throws nothing but ConfigError; the error is one
// line that starts with "FILE:LINE: " (LINE within the text) and names its key when it has
// one; a loaded Config passes every setting's cross-check again, and loading is
// deterministic (the same text gives the same message or the same source).
#include <algorithm>
#include <cstdio>
#include <exception>
#include <string>
#include <string_view>
#include <typeinfo>

#include "config/config_error.hpp"
#include "config/load.hpp"
#include "config/settings.hpp"
#include "fuzz_targets.hpp"
#include "protocol/result.hpp"

namespace turnd::fuzz {
namespace {

constexpr std::string_view kSource = "fuzz.yaml";

void check_error(const config::ConfigError& e, std::string_view text) {
  const std::string_view what = e.what();
  TURND_ASSERT(e.file() == kSource);
  TURND_ASSERT(what.starts_with(kSource));
  // One line: a message printed by main must not be able to forge a second one, whatever
  // the key name or yaml-cpp's message holds (finding F5, fixed: control characters escaped).
  TURND_ASSERT(what.find('\n') == std::string_view::npos);
  TURND_ASSERT(what.find('\r') == std::string_view::npos);
  const auto lines = static_cast<int>(std::count(text.begin(), text.end(), '\n')) + 1;
  TURND_ASSERT(e.line() >= 0 && e.line() <= lines + 1);
  std::string prefix = std::string(kSource);
  if (e.line() > 0) prefix += ":" + std::to_string(e.line());
  prefix += ": ";
  TURND_ASSERT(what.starts_with(prefix));
  if (!e.key().empty()) TURND_ASSERT(what.substr(prefix.size()).starts_with(e.key() + ": "));
  // (A key may be empty: YAML allows "": 1 and "? !": 1; the message then names no key.)
}

void check_loaded(const config::Config& c) {
  TURND_ASSERT(c.source == kSource);
  for (const auto& s : config::settings())
    if (s.check) TURND_ASSERT(s.check(c).empty());
}

}  // namespace

int check_config(const std::uint8_t* data, std::size_t size) {
  const std::string_view text{reinterpret_cast<const char*>(data), size};
  std::string first;
  try {
    const auto c = config::load_string(text, std::string(kSource));
    check_loaded(c);
  } catch (const config::ConfigError& e) {
    check_error(e, text);
    first = e.what();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz_config: %s escaped the loader: %s\n", typeid(e).name(), e.what());
    TURND_ASSERT(!"only ConfigError may leave load_string");
  }
  std::string second;
  try {
    (void)config::load_string(text, std::string(kSource));
  } catch (const config::ConfigError& e) {
    second = e.what();
  }
  TURND_ASSERT(first == second);
  return 0;
}

}  // namespace turnd::fuzz

#if !defined(TURND_FUZZ_REGRESS)
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return turnd::fuzz::check_config(data, size);
}
#endif
