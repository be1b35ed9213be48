#include "server/logging.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/spdlog.h>

#include "server/log_text.hpp"
#include "server/logging_sink.hpp"

namespace turnd::server {

namespace {

/// The one sink, kept to stop its writer thread at exit (spdlog::shutdown may not destroy it
/// while a logger copy lives).
std::shared_ptr<BatchingStderrSink> g_sink;

/// Whether escape_controls would change `text` (a byte < 0x20 or 0x7f).
bool has_controls(std::string_view text) noexcept {
  for (const char c : text)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return true;
  return false;
}

/// The message (%v) escaped for the format: JSON string contents, or control bytes as \xHH in
/// text lines. Client values were escaped at the call site already (logsafe); this makes a
/// line valid JSON, and a single line, whatever a call site passed.
class EscapedMessage final : public spdlog::custom_flag_formatter {
 public:
  explicit EscapedMessage(bool json) : json_(json) {}

  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    const std::string_view text{msg.payload.data(), msg.payload.size()};
    if (!json_ && !has_controls(text)) {  // the common line: nothing to escape, no copy
      dest.append(text.data(), text.data() + text.size());
      return;
    }
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
  auto formatter = std::make_unique<spdlog::pattern_formatter>(
      json ? spdlog::pattern_time_type::utc : spdlog::pattern_time_type::local);
  formatter->add_flag<EscapedMessage>('*', json);
  formatter->set_pattern(json ? R"({"time":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l","msg":"%*"})"
                              : "%Y-%m-%d %H:%M:%S.%e %^%l%$ %*");
  g_sink = std::make_shared<BatchingStderrSink>(std::move(formatter));
  auto logger = std::make_shared<spdlog::logger>("turnd", g_sink);
  logger->set_level(level);
  logger->flush_on(spdlog::level::warn);  // info lines are written in batches (logging_sink.hpp)
  spdlog::set_default_logger(std::move(logger));
  spdlog::set_level(level);
}

void shutdown_logging() noexcept {
  try {
    if (g_sink) g_sink->stop();  // writes what is pending (and how many lines were dropped)
    spdlog::shutdown();
  } catch (...) {
  }
}

}  // namespace turnd::server
