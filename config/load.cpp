#include "config/load.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <vector>

#include "config/config_error.hpp"
#include "config/settings.hpp"
#include "config/value_parsers.hpp"

namespace turnd::config {
namespace {

std::string read_file(const std::string& path) {
  auto fail = [&](int error) {
    return ConfigError("cannot read " + path + ": " + std::strerror(error), path);
  };
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"),
                                                       &std::fclose);
  if (!file) throw fail(errno);
  std::string text;
  char buffer[8192];
  while (std::size_t n = std::fread(buffer, 1, sizeof buffer, file.get())) text.append(buffer, n);
  if (std::ferror(file.get())) throw fail(errno);  // e.g. EISDIR
  return text;
}

std::string join_key(std::string_view prefix, std::string_view name) {
  return prefix.empty() ? std::string(name) : std::string(prefix) + "." + std::string(name);
}

// The names allowed directly under `prefix` ("" = top level), in table order.
std::vector<std::string_view> child_names(std::string_view prefix) {
  std::vector<std::string_view> names;
  for (const auto& s : settings()) {
    std::string_view key = s.key;
    if (!prefix.empty()) {
      if (!key.starts_with(prefix) || key.size() <= prefix.size() || key[prefix.size()] != '.')
        continue;
      key.remove_prefix(prefix.size() + 1);
    }
    key = key.substr(0, key.find('.'));
    if (std::find(names.begin(), names.end(), key) == names.end()) names.push_back(key);
  }
  return names;
}

bool is_section(std::string_view key) {
  return !child_names(key).empty() && find_setting(key) == nullptr;
}

std::string join_names(const std::vector<std::string_view>& names) {
  std::string out;
  for (auto name : names) out += (out.empty() ? "" : ", ") + std::string(name);
  return out;
}

// Optimal string alignment distance: a swap of two neighbours ("relam") counts as one edit.
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j) {
      d[i][j] =
          std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] != b[j - 1])});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.size()][b.size()];
}

// "did you mean a or b?" when `name` is a typo of some of `candidates`, else "".
std::string did_you_mean(std::string name, const std::vector<std::string_view>& candidates) {
  std::replace(name.begin(), name.end(), '-', '_');  // flag-style names: max-lifetime
  std::vector<std::string_view> closest;
  std::size_t best_distance = 3;  // more than 2 edits away is no longer a typo
  for (auto candidate : candidates) {
    auto distance = edit_distance(name, candidate);
    if (distance < best_distance) closest.clear(), best_distance = distance;
    if (distance == best_distance) closest.push_back(candidate);
  }
  std::string names;
  for (auto candidate : closest) names += (names.empty() ? "" : " or ") + std::string(candidate);
  return names.empty() ? names : "did you mean " + names + "?";
}

// Points at a typo's likely fix, or at the section where a misplaced key (users at the top
// level instead of under auth) belongs.
std::string unknown_key_problem(std::string_view prefix, const std::string& name,
                                const std::vector<std::string_view>& siblings) {
  if (auto hint = did_you_mean(name, siblings); !hint.empty()) return "unknown key; " + hint;
  for (const auto& s : settings()) {
    auto dot = s.key.rfind('.');
    auto leaf = dot == std::string_view::npos ? s.key : s.key.substr(dot + 1);
    if (leaf == name && s.key != join_key(prefix, name))
      return "unknown key here; did you mean " +
             (dot == std::string_view::npos ? "top-level " + std::string(s.key)
                                            : std::string(s.key)) +
             "?";
  }
  return "unknown key; expected one of: " + join_names(siblings);
}

// A null value ("key:" and nothing) is marked where the next token starts: use the key's line.
int line_of(const YAML::Node& node, int fallback) {
  if (node.IsNull() || node.Mark().is_null()) return fallback;
  return node.Mark().line + 1;  // yaml-cpp counts from 0
}

std::string shape_name(const YAML::Node& node) { return node.IsSequence() ? "a list" : "a map"; }

// Walks a parsed document against the settings table, filling a Config.
class YamlLoader {
 public:
  YamlLoader(Config& config, std::string source) : config_(config), source_(std::move(source)) {}

  void load_section(const YAML::Node& map, const std::string& prefix, int line);
  void run_checks() const;

 private:
  struct Seen {
    const Setting* setting;
    int line;
    std::optional<std::string> shown;  // the value as written, unless secret or not a scalar
  };

  void load_setting(const Setting& setting, const YAML::Node& value, int line);
  void load_scalar(const Setting& setting, const YAML::Node& node, const std::string& key,
                   int line);
  void load_user_map(const YAML::Node& node, const std::string& key, int line);
  void load_cert_map(const YAML::Node& node, const std::string& key, int line);
  [[noreturn]] void fail(int line, const std::string& key, std::optional<std::string_view> value,
                         std::string_view problem) const {
    throw ConfigError::at(source_, line, key, value, problem);
  }

  Config& config_;
  std::string source_;
  std::vector<Seen> seen_;
};

void YamlLoader::load_section(const YAML::Node& map, const std::string& prefix, int line) {
  if (map.IsNull()) return;
  const auto names = child_names(prefix);
  if (!map.IsMap())
    fail(line_of(map, line), prefix, std::nullopt,
         (prefix.empty() ? "expected a map of settings, e.g. realm: example.org"
                         : "expected a map with keys " + join_names(names)));
  std::vector<std::string> found;
  for (const auto& entry : map) {
    const int key_line = line_of(entry.first, line);
    if (!entry.first.IsScalar()) fail(key_line, prefix, std::nullopt, "expected a key name");
    const std::string& name = entry.first.Scalar();
    const std::string key = join_key(prefix, name);
    if (std::find(found.begin(), found.end(), name) != found.end())
      fail(key_line, key, std::nullopt, "key given twice");
    found.push_back(name);
    if (is_section(key)) {
      load_section(entry.second, key, key_line);
    } else if (const Setting* setting = find_setting(key)) {
      load_setting(*setting, entry.second, key_line);
    } else {
      fail(key_line, key, std::nullopt, unknown_key_problem(prefix, name, names));
    }
  }
}

void YamlLoader::load_setting(const Setting& setting, const YAML::Node& value, int line) {
  const std::string key(setting.key);
  line = line_of(value, line);
  if (setting.shape == Shape::List) {
    setting.clear(config_);
    if (!value.IsNull() && !value.IsSequence())
      fail(line, key, std::nullopt, "expected a list such as [" + quote(setting.example) + "]");
    for (std::size_t i = 0; i < value.size(); ++i) {
      const std::string item_key = key + "[" + std::to_string(i) + "]";
      if (setting.key == "auth.users" && value[i].IsMap()) {
        load_user_map(value[i], item_key, line_of(value[i], line));
      } else if (setting.key == "tls.certs" && value[i].IsMap()) {
        load_cert_map(value[i], item_key, line_of(value[i], line));
      } else {
        load_scalar(setting, value[i], item_key, line_of(value[i], line));
      }
    }
    seen_.push_back({&setting, line, std::nullopt});
  } else if (setting.shape == Shape::Optional && value.IsNull()) {
    setting.clear(config_);
  } else {
    load_scalar(setting, value, key, line);
    std::optional<std::string> shown;
    if (setting.may_show(value.Scalar())) shown = value.Scalar();
    seen_.push_back({&setting, line, std::move(shown)});
  }
}

void YamlLoader::load_scalar(const Setting& setting, const YAML::Node& node, const std::string& key,
                             int line) {
  if (node.IsNull()) fail(line, key, std::nullopt, "missing value, e.g. " + quote(setting.example));
  if (!node.IsScalar())
    fail(line, key, std::nullopt,
         "expected a value such as " + quote(setting.example) + ", not " + shape_name(node));
  const std::string& text = node.Scalar();
  if (auto problem = setting.set(config_, text); !problem.empty())
    fail(line, key, setting.may_show(text) ? std::optional<std::string_view>(text) : std::nullopt,
         problem);
}

// auth.users items may also be written as {name: alice, password: secret}.
void YamlLoader::load_user_map(const YAML::Node& node, const std::string& key, int line) {
  StaticUser user;
  std::vector<std::string> found;
  for (const auto& entry : node) {
    const int field_line = line_of(entry.first, line);
    if (!entry.first.IsScalar()) fail(field_line, key, std::nullopt, "expected a key name");
    const std::string& name = entry.first.Scalar();
    const std::string field_key = key + "." + name;
    if (name != "name" && name != "password") {
      auto hint = did_you_mean(name, {"name", "password"});
      fail(field_line, field_key, std::nullopt,
           "unknown key; " + (hint.empty() ? "expected name and password" : hint));
    }
    if (std::find(found.begin(), found.end(), name) != found.end())
      fail(field_line, field_key, std::nullopt, "key given twice");
    found.push_back(name);
    if (!entry.second.IsScalar()) fail(field_line, field_key, std::nullopt, "expected a string");
    (name == "name" ? user.name : user.password) = entry.second.Scalar();
  }
  if (auto problem = add_user(config_, std::move(user)); !problem.empty())
    fail(line, key, std::nullopt, problem);
}

// tls.certs items: {cert: FILE, key: FILE}, both required.
void YamlLoader::load_cert_map(const YAML::Node& node, const std::string& key, int line) {
  TlsCertFiles files;
  std::vector<std::string> found;
  for (const auto& entry : node) {
    const int field_line = line_of(entry.first, line);
    if (!entry.first.IsScalar()) fail(field_line, key, std::nullopt, "expected a key name");
    const std::string& name = entry.first.Scalar();
    const std::string field_key = key + "." + name;
    if (name != "cert" && name != "key") {
      auto hint = did_you_mean(name, {"cert", "key"});
      fail(field_line, field_key, std::nullopt,
           "unknown key; " + (hint.empty() ? "expected cert and key" : hint));
    }
    if (std::find(found.begin(), found.end(), name) != found.end())
      fail(field_line, field_key, std::nullopt, "key given twice");
    found.push_back(name);
    if (!entry.second.IsScalar()) fail(field_line, field_key, std::nullopt, "expected a file name");
    auto path = parse_path(entry.second.Scalar());
    if (!path) fail(field_line, field_key, entry.second.Scalar(), path.error());
    (name == "cert" ? files.cert : files.key) = std::move(*path);
  }
  if (files.cert.empty() || files.key.empty())
    fail(line, key, std::nullopt, "expected both cert and key, e.g. {cert: FILE, key: FILE}");
  config_.tls_certs.push_back(std::move(files));
}

void YamlLoader::run_checks() const {
  for (const auto& seen : seen_) {
    if (!seen.setting->check) continue;
    if (auto problem = seen.setting->check(config_); !problem.empty())
      fail(seen.line, std::string(seen.setting->key), seen.shown, problem);
  }
}

}  // namespace

Config load_string(std::string_view yaml, std::string source) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {  // syntax errors, bad anchors, ...
    throw ConfigError::at(source, e.mark.is_null() ? 0 : e.mark.line + 1, "", std::nullopt,
                          "invalid YAML: " + e.msg);
  }
  Config config;
  config.source = source;
  YamlLoader loader(config, std::move(source));
  loader.load_section(root, "", 1);
  loader.run_checks();
  return config;
}

Config load_file(const std::string& path) { return load_string(read_file(path), path); }

}  // namespace turnd::config
