#include "server/io/client_context.hpp"

namespace turnd::server::io {

std::string_view to_string(Transport t) noexcept {
  switch (t) {
    case Transport::Udp:
      return "udp";
    case Transport::Tcp:
      return "tcp";
    case Transport::Tls:
      return "tls";
    case Transport::Dtls:
      return "dtls";
  }
  return "?";
}

}  // namespace turnd::server::io
