// turnctl: the operator's command line for turnd (credentials, secrets, config checks).
#include <CLI/CLI.hpp>
#include <iostream>

#include "protocol/version.hpp"

int main(int argc, char** argv) {
  CLI::App app{"turnctl - manage turnd credentials and configuration", "turnctl"};
  app.require_subcommand(1);
  auto* version = app.add_subcommand("version", "print the turnctl version");
  version->callback([] { std::cout << "turnctl " << turnd::kVersion << "\n"; });
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return 0;
}
