// The client context types live with the listeners that fill them in (server/io/); the rest of
// server/ names them without the io:: prefix.
#pragma once

#include "server/io/client_context.hpp"

namespace turnd::server {

using io::ClientContext;
using io::ClientSink;
using io::to_string;
using io::Transport;

}  // namespace turnd::server
