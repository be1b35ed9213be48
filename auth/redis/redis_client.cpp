#include "auth/redis/redis_client.hpp"

#include <hiredis/hiredis.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace turnd::auth::redis {

namespace {

timeval to_timeval(std::chrono::milliseconds ms) {
  return timeval{static_cast<time_t>(ms.count() / 1000),
                 static_cast<suseconds_t>((ms.count() % 1000) * 1000)};
}

Reply convert(const redisReply& r) {
  Reply out;
  switch (r.type) {
    case REDIS_REPLY_INTEGER:
      out.type = Reply::Type::Integer;
      out.integer = r.integer;
      break;
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
      out.type = r.type == REDIS_REPLY_STRING   ? Reply::Type::String
                 : r.type == REDIS_REPLY_STATUS ? Reply::Type::Status
                                                : Reply::Type::Error;
      if (r.str != nullptr) out.text.assign(r.str, r.len);
      break;
    case REDIS_REPLY_ARRAY:
      out.type = Reply::Type::Array;
      out.elements.reserve(r.elements);
      for (std::size_t i = 0; i < r.elements; ++i)
        out.elements.push_back(r.element[i] != nullptr ? convert(*r.element[i]) : Reply{});
      break;
    default:  // REDIS_REPLY_NIL, and any type a later hiredis might add
      break;
  }
  return out;
}

struct ReplyFree {
  void operator()(void* r) const noexcept { freeReplyObject(r); }
};

bool is_message(const Reply& r, const std::string& channel) {
  return r.type == Reply::Type::Array && r.elements.size() == 3 &&
         r.elements[0].type == Reply::Type::String && r.elements[0].text == "message" &&
         r.elements[1].type == Reply::Type::String && r.elements[1].text == channel &&
         r.elements[2].type == Reply::Type::String;
}

// hiredis 0.14 (Debian 12) allocates an array reply's element table as soon as it reads the
// count: "*333333333\r\n" from a broken or hostile server costs 2.6 GB before any element
// arrives, and this version has no maxelements setting (finding F3). turnd reads small
// replies (a SCAN page, a few hashes): refuse larger arrays before the allocation.
constexpr int kMaxArrayElements = 1 << 20;
redisReplyObjectFunctions g_bounded_functions{};
void* (*g_create_array)(const redisReadTask*, int) = nullptr;

void* bounded_create_array(const redisReadTask* task, int elements) {
  if (elements > kMaxArrayElements) return nullptr;  // the reader reports "out of memory"
  return g_create_array(task, elements);
}

/// Points the context's reader at hiredis' own functions with the array bound in front.
void bound_array_replies(redisContext& c) {
  if (c.reader == nullptr || c.reader->fn == nullptr) return;
  static const bool installed = [&] {
    g_bounded_functions = *c.reader->fn;  // hiredis' defaults (static in hiredis.c)
    g_create_array = g_bounded_functions.createArray;
    g_bounded_functions.createArray = bounded_create_array;
    return true;
  }();
  (void)installed;
  if (g_create_array != nullptr) c.reader->fn = &g_bounded_functions;
}

}  // namespace

void RedisClient::Free::operator()(redisContext* c) const noexcept { redisFree(c); }

RedisClient::RedisClient(std::unique_ptr<redisContext, Free> ctx, RedisUrl url)
    : ctx_(std::move(ctx)), url_(std::move(url)) {}

RedisClient::~RedisClient() = default;

RedisResult<RedisClient> RedisClient::connect(const RedisUrl& url, ClientOptions options) {
  std::unique_ptr<redisContext, Free> ctx{
      redisConnectWithTimeout(url.host.c_str(), url.port, to_timeval(options.connect_timeout))};
  if (!ctx) return unexpected(RedisError{ErrorKind::Connection, "out of memory"});
  RedisClient client{std::move(ctx), url};
  if (client.ctx_->err != 0) return unexpected(client.connection_error("connect"));
  bound_array_replies(*client.ctx_);
  if (redisSetTimeout(client.ctx_.get(), to_timeval(options.command_timeout)) != REDIS_OK ||
      redisEnableKeepAlive(client.ctx_.get()) != REDIS_OK)
    return unexpected(client.connection_error("connect"));

  if (!url.password.empty()) {
    auto auth = client.command(url.user.empty() ? Command{"AUTH", url.password}
                                                : Command{"AUTH", url.user, url.password});
    if (!auth) return unexpected(auth.error());
    if (auto ok = as_ok(*auth, "AUTH"); !ok) return unexpected(ok.error());
  }
  // PING proves the server speaks Redis and needs no AUTH we lack (NOAUTH shows up here).
  auto ping = client.command({"PING"});
  if (!ping) return unexpected(ping.error());
  if (ping->type != Reply::Type::Status || ping->text != "PONG")
    return unexpected(
        ping->type == Reply::Type::Error
            ? RedisError{ErrorKind::Server, "PING: " + ping->text}
            : data_error("PING", "expected PONG, got " + std::string(ping->type_name())));
  if (url.db != 0) {
    auto select = client.command({"SELECT", std::to_string(url.db)});
    if (!select) return unexpected(select.error());
    if (auto ok = as_ok(*select, "SELECT " + std::to_string(url.db)); !ok)
      return unexpected(ok.error());
  }
  return RedisResult<RedisClient>(std::move(client));
}

bool RedisClient::ok() const noexcept { return ctx_ && ctx_->err == 0; }

RedisError RedisClient::connection_error(std::string_view context) const {
  std::string cause = ctx_ ? ctx_->errstr : "not connected";
  // A socket timeout surfaces as EAGAIN's text; say what it means.
  if (cause == std::strerror(EAGAIN) || cause == std::strerror(EWOULDBLOCK)) cause = "timed out";
  if (cause.empty()) cause = "connection failed";
  return RedisError{ErrorKind::Connection,
                    context == "connect" ? cause : cause + " (" + std::string(context) + ")"};
}

RedisResult<Done> RedisClient::append(const Command& args) {
  if (!ok()) return unexpected(connection_error(args.empty() ? "" : args[0]));
  std::vector<const char*> argv;
  std::vector<std::size_t> lengths;
  for (const auto& a : args) {
    argv.push_back(a.data());
    lengths.push_back(a.size());
  }
  if (redisAppendCommandArgv(ctx_.get(), static_cast<int>(argv.size()), argv.data(),
                             lengths.data()) != REDIS_OK)
    return unexpected(connection_error(args.empty() ? "" : args[0]));
  return Done{};
}

RedisResult<Reply> RedisClient::read_reply(std::string_view context) {
  void* raw = nullptr;
  if (redisGetReply(ctx_.get(), &raw) != REDIS_OK || raw == nullptr)
    return unexpected(connection_error(context));
  std::unique_ptr<void, ReplyFree> owned{raw};
  return convert(*static_cast<const redisReply*>(raw));
}

RedisResult<Reply> RedisClient::command(const Command& args) {
  if (auto sent = append(args); !sent) return unexpected(sent.error());
  return read_reply(args.empty() ? "" : args[0]);
}

RedisResult<std::vector<Reply>> RedisClient::pipeline(std::span<const Command> commands) {
  for (const auto& c : commands)
    if (auto sent = append(c); !sent) return unexpected(sent.error());
  std::vector<Reply> replies;
  replies.reserve(commands.size());
  for (const auto& c : commands) {
    auto r = read_reply(c.empty() ? "" : c[0]);
    if (!r) return unexpected(r.error());
    replies.push_back(std::move(*r));
  }
  return replies;
}

RedisResult<std::vector<Reply>> RedisClient::transaction(std::span<const Command> commands) {
  std::vector<Command> all;
  all.reserve(commands.size() + 2);
  all.push_back({"MULTI"});
  all.insert(all.end(), commands.begin(), commands.end());
  all.push_back({"EXEC"});
  auto replies = pipeline(all);
  if (!replies) return unexpected(replies.error());
  for (std::size_t i = 0; i + 1 < replies->size(); ++i) {  // OK, then QUEUED per command
    const auto& r = (*replies)[i];
    if (r.type == Reply::Type::Error)
      return unexpected(RedisError{ErrorKind::Server, all[i][0] + ": " + r.text});
  }
  const auto& exec = replies->back();
  if (exec.type == Reply::Type::Nil) return unexpected(data_error("EXEC", "transaction aborted"));
  if (exec.type != Reply::Type::Array || exec.elements.size() != commands.size())
    return unexpected(exec.type == Reply::Type::Error
                          ? RedisError{ErrorKind::Server, "EXEC: " + exec.text}
                          : data_error("EXEC", "expected one reply per queued command"));
  return exec.elements;
}

RedisResult<Done> RedisClient::subscribe(const std::string& channel) {
  auto r = command({"SUBSCRIBE", channel});
  if (!r) return unexpected(r.error());
  const bool confirmed =
      r->type == Reply::Type::Array && r->elements.size() == 3 &&
      r->elements[0].type == Reply::Type::String && r->elements[0].text == "subscribe" &&
      r->elements[1].type == Reply::Type::String && r->elements[1].text == channel;
  if (!confirmed) {
    if (r->type == Reply::Type::Error)
      return unexpected(RedisError{ErrorKind::Server, "SUBSCRIBE " + channel + ": " + r->text});
    return unexpected(data_error("SUBSCRIBE " + channel, "unexpected confirmation reply"));
  }
  channel_ = channel;
  return Done{};
}

RedisResult<std::optional<std::string>> RedisClient::wait_message(std::chrono::milliseconds timeout,
                                                                  int wake_fd) {
  using SteadyClock = std::chrono::steady_clock;
  const auto deadline = SteadyClock::now() + timeout;
  const std::string context = "SUBSCRIBE " + channel_;
  for (;;) {
    if (!ok()) return unexpected(connection_error(context));
    void* raw = nullptr;  // a reply already in the read buffer?
    if (redisGetReplyFromReader(ctx_.get(), &raw) != REDIS_OK)
      return unexpected(connection_error(context));
    if (raw != nullptr) {
      std::unique_ptr<void, ReplyFree> owned{raw};
      Reply r = convert(*static_cast<const redisReply*>(raw));
      if (is_message(r, channel_)) return std::optional<std::string>{r.elements[2].text};
      if (r.type != Reply::Type::Array)  // pub/sub only sends arrays: the stream is confused
        return unexpected(
            data_error(context, "expected a message array, got " + std::string(r.type_name())));
      continue;  // (un)subscribe confirmations and the like
    }
    const auto left =
        std::max(std::chrono::ceil<std::chrono::milliseconds>(deadline - SteadyClock::now()),
                 std::chrono::milliseconds{0});
    pollfd fds[2] = {{ctx_->fd, POLLIN, 0}, {wake_fd, POLLIN, 0}};
    const int n = ::poll(fds, wake_fd >= 0 ? 2 : 1, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      return unexpected(
          RedisError{ErrorKind::Connection, std::string("poll: ") + std::strerror(errno)});
    if (n == 0) return std::optional<std::string>{};  // time is up
    if (wake_fd >= 0 && (fds[1].revents & POLLIN) != 0) return std::optional<std::string>{};
    if (fds[0].revents != 0 && redisBufferRead(ctx_.get()) != REDIS_OK)
      return unexpected(connection_error(context));
  }
}

}  // namespace turnd::auth::redis
