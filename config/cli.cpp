#include "config/cli.hpp"

#include <CLI/CLI.hpp>
#include <optional>
#include <utility>

#include "config/config_error.hpp"
#include "config/embedded_default.hpp"
#include "config/load.hpp"
#include "config/settings.hpp"

namespace turnd::config {
namespace {

constexpr const char* kFooter =
    "Flags override the file; a repeatable flag replaces that list from the file.\n"
    "Without --config, the built-in configuration is used: the documented example turnd.yaml,\n"
    "which names no credentials, so turnd generates a REST secret for the run; set your own\n"
    "with --auth-secret-file FILE (or auth.secret_file in a config file).";

struct FlagOption {
  const Setting* setting;
  CLI::Option* option;
  std::vector<std::string> values;  // one per occurrence on the command line
};

std::optional<std::string_view> shown(const Setting& setting, std::string_view value) {
  if (setting.shape == Shape::Switch || !setting.may_show(value)) return std::nullopt;
  return value;
}

// Applies the flags that were given, in table order, then runs their cross-setting checks.
void apply_flags(const std::vector<FlagOption>& flags, Config& config) {
  for (const auto& flag : flags) {
    const Setting& s = *flag.setting;
    if (flag.option->count() == 0) continue;
    std::vector<std::string> values = flag.values;
    if (s.shape == Shape::Switch) values = {"true"};
    if (s.shape == Shape::List) {
      s.clear(config);
    } else {
      values = {values.back()};  // a single-valued flag given twice: the last one wins
    }
    for (const auto& value : values)
      if (auto problem = s.set(config, value); !problem.empty())
        throw ConfigError::flag(std::string(s.flag), shown(s, value), problem);
  }
  for (const auto& flag : flags) {
    const Setting& s = *flag.setting;
    if (flag.option->count() == 0 || !s.check) continue;
    if (auto problem = s.check(config); !problem.empty()) {
      std::optional<std::string_view> value;
      if (s.shape != Shape::List && !flag.values.empty()) value = shown(s, flag.values.back());
      throw ConfigError::flag(std::string(s.flag), value, problem);
    }
  }
}

}  // namespace

CommandLine parse_command_line(int argc, const char* const* argv) {
  CLI::App app{"turnd: a STUN/TURN server (RFC 8489, RFC 8656)", "turnd"};
  app.footer(kFooter);
  app.get_formatter()->column_width(40);

  CommandLine out;
  std::string config_file;
  auto* config_option = app.add_option("-c,--config", config_file,
                                       "YAML configuration file (default: the built-in one)")
                            ->type_name("FILE");
  std::vector<FlagOption> flags;
  flags.reserve(settings().size());
  for (const auto& s : settings()) {
    if (s.flag.empty()) continue;
    auto& flag = flags.emplace_back(FlagOption{&s, nullptr, {}});  // reserved: `values` stays put
    const std::string help(s.help);
    if (s.shape == Shape::Switch) {
      flag.option = app.add_flag(std::string(s.flag), help)->disable_flag_override();
    } else {
      flag.option =
          app.add_option(std::string(s.flag), flag.values, help)
              ->type_name(std::string(s.metavar))
              ->expected(1)  // one value per occurrence
              ->allow_extra_args(false)
              ->multi_option_policy(s.shape == Shape::List ? CLI::MultiOptionPolicy::TakeAll
                                                           : CLI::MultiOptionPolicy::TakeLast);
    }
  }
  app.add_flag("--check-config", out.check_config, "Validate the configuration and exit");
  app.add_flag("-V,--version", out.show_version, "Print the version and exit");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    out.show_help = true;
    out.help_text = app.help();
    return out;
  } catch (const CLI::ParseError& e) {
    throw ConfigError(std::string(e.what()) + " (see turnd --help)");
  }
  if (out.show_version) return out;

  out.config = config_option->count() > 0 ? load_file(config_file) : load_embedded_default();
  apply_flags(flags, out.config);
  return out;
}

CommandLine parse_command_line(const std::vector<std::string>& args) {
  std::vector<const char*> argv{"turnd"};
  for (const auto& arg : args) argv.push_back(arg.c_str());
  return parse_command_line(static_cast<int>(argv.size()), argv.data());
}

}  // namespace turnd::config
