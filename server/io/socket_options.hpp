// Socket options Asio has no public name for.
#pragma once

#include <sys/socket.h>

#include <boost/system/error_code.hpp>
#include <cerrno>

namespace turnd::server::io {

/// SO_REUSEPORT on an open Asio socket or acceptor: every shard binds its own socket to the
/// same address and the kernel spreads clients over them. Sets `ec` when setsockopt fails.
template <class Socket>
void set_reuse_port(Socket& socket, boost::system::error_code& ec) noexcept {
  const int on = 1;
  if (::setsockopt(socket.native_handle(), SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) != 0)
    ec.assign(errno, boost::system::system_category());
  else
    ec.clear();
}

}  // namespace turnd::server::io
