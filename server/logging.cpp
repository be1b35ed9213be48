#include "server/logging.hpp"

#include <spdlog/async.h>
#include <spdlog/async_logger.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "server/log_text.hpp"

namespace turnd::server {

namespace {

/// Lines waiting for the writer thread. When it is full (stderr blocked, a flood of lines) the
/// oldest waiting line is dropped: an I/O thread never waits for the log.
constexpr std::size_t kQueueLines = 8192;

/// The message (%v) escaped for the format: JSON string contents, or control bytes as \xHH in
/// text lines. Client values were escaped at the call site already (logsafe); this makes a
/// line valid JSON, and a single line, whatever a call site passed.
class EscapedMessage final : public spdlog::custom_flag_formatter {
 public:
  explicit EscapedMessage(bool json) : json_(json) {}

  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    const std::string_view text{msg.payload.data(), msg.payload.size()};
    const std::string escaped = json_ ? escape_for_json(text) : escape_controls(text);
    dest.append(escaped.data(), escaped.data() + escaped.size());
  }

  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<EscapedMessage>(json_);
  }

 private:
  bool json_;
};

}  // namespace

void setup_logging(const config::Config& config) {
  const auto level = spdlog::level::from_str(config.log_level);
  const bool json = config.log_format == config::LogFormat::Json;
  spdlog::init_thread_pool(kQueueLines, 1);
  auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  auto logger =
      std::make_shared<spdlog::async_logger>("turnd", std::move(sink), spdlog::thread_pool(),
                                             spdlog::async_overflow_policy::overrun_oldest);
  auto formatter = std::make_unique<spdlog::pattern_formatter>(
      json ? spdlog::pattern_time_type::utc : spdlog::pattern_time_type::local);
  formatter->add_flag<EscapedMessage>('*', json);
  formatter->set_pattern(json ? R"({"time":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l","msg":"%*"})"
                              : "%Y-%m-%d %H:%M:%S.%e %^%l%$ %*");
  logger->set_formatter(std::move(formatter));
  logger->set_level(level);
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(std::move(logger));
  spdlog::set_level(level);
}

void shutdown_logging() noexcept {
  try {
    if (auto pool = spdlog::thread_pool()) {
      if (const auto lost = pool->overrun_counter(); lost > 0)
        spdlog::warn("{} log line(s) dropped: the log queue was full", lost);
    }
    spdlog::shutdown();  // writes what is queued, then stops the writer thread
  } catch (...) {
  }
}

}  // namespace turnd::server
