// The Redis URL of the `redis:` setting, parsed by the config's one parser (config/redis_url).
#pragma once

#include "config/redis_url.hpp"

namespace turnd::auth::redis {

using config::parse_redis_url;
using config::RedisUrl;

}  // namespace turnd::auth::redis
