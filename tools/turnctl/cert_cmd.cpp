// turnctl cert self-signed: a test certificate and key for turnd's TLS and DTLS listeners
// (listen_tls, listen_dtls), written as DIR/cert.pem and DIR/key.pem. Real clients need a
// certificate from a CA (e.g. Let's Encrypt); this one only a client told to trust it accepts.
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <memory>

#include "tools/turnctl/cert_files.hpp"
#include "tools/turnctl/commands.hpp"
#include "tools/turnctl/self_signed_cert.hpp"

namespace turnd::turnctl {

namespace {

struct SelfSignedArgs {
  std::vector<std::string> hosts;
  std::string out = ".", key_type = "ec";
  int days = 90;
  bool force = false;
};

std::string host_list(const std::vector<CertHost>& hosts) {
  std::string out;
  for (const auto& h : hosts) out += (out.empty() ? "" : ", ") + h.text;
  return out;
}

void self_signed(const SelfSignedArgs& args) {
  CertRequest request{args.hosts, args.days, args.key_type == "rsa" ? KeyType::Rsa : KeyType::Ec};
  SelfSignedCert made;
  try {
    made = make_self_signed_cert(request);
  } catch (const BadCertRequest& e) {
    throw UsageError(e.what());
  }
  CertFilePaths paths;
  try {
    paths = write_cert_files(std::filesystem::absolute(args.out).lexically_normal(), made.cert_pem,
                             made.key_pem, args.force);
  } catch (const CertFileError& e) {
    throw Failure(e.what());
  }
  std::cout << "wrote " << paths.cert.string() << ": a self-signed " << to_string(request.key_type)
            << " certificate for " << host_list(made.hosts) << ", valid until "
            << format_time(made.not_after) << "\n"
            << "wrote " << paths.key.string() << ": its private key, mode 0600"
            << (::geteuid() == 0 ? " (chown it to the user turnd runs as, e.g. turnd)" : "") << "\n"
            << "use: turnd --listen-tls 0.0.0.0:5349 --tls-cert " << paths.cert.string()
            << " --tls-key " << paths.key.string()
            << " (or tls.cert and tls.key in the config); browsers do not trust a self-signed "
               "certificate: for tests, or import cert.pem as trusted on each client\n";
}

}  // namespace

void add_cert_commands(CLI::App& app, Context& /*ctx*/) {
  auto* cert = app.add_subcommand("cert", "make a certificate for turnd's TLS and DTLS listeners");
  cert->require_subcommand(1);
  auto args = std::make_shared<SelfSignedArgs>();
  auto* cmd = cert->add_subcommand(
      "self-signed", "write a self-signed test certificate and key: DIR/cert.pem, DIR/key.pem");
  cmd->add_option("--host", args->hosts,
                  "DNS name or IP address it is for (repeatable; the first is also the CN)")
      ->required();
  cmd->add_option("--out", args->out, "directory to write cert.pem and key.pem into")
      ->capture_default_str();
  cmd->add_option("--days", args->days, "days until it expires (1-3650)")->capture_default_str();
  cmd->add_option("--key-type", args->key_type, "ec (P-256) or rsa (2048 bits)")
      ->capture_default_str()
      ->check(CLI::IsMember({"ec", "rsa"}));
  cmd->add_flag("--force", args->force, "replace an existing cert.pem and key.pem");
  cmd->callback([args] { self_signed(*args); });
}

}  // namespace turnd::turnctl
