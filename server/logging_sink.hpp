// Where turnd's log lines go: stderr, written in batches by a thread of its own. A shard that
// logs (an allocation created or deleted: the operators' audit trail) formats its line on its
// own thread and appends it to a buffer under a short lock; it wakes the writer only when the
// writer is idle, so a busy server pays no system call per line: the writer wakes at most
// every kBatchInterval then, and writes everything pending with one write. A warning or
// worse, a full buffer and flush() wake it at once. When stderr blocks, the buffer stops
// at kMaxPendingBytes and further lines are dropped and counted (the writer says how many);
// an I/O thread never waits for the log. Owner: any thread.
#pragma once

#include <spdlog/sinks/sink.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>

namespace turnd::server {

class BatchingStderrSink final : public spdlog::sinks::sink {
 public:
  static constexpr std::chrono::milliseconds kBatchInterval{20};
  static constexpr std::size_t kWakeBytes = 64 * 1024;
  static constexpr std::size_t kMaxPendingBytes = 4 * 1024 * 1024;

  explicit BatchingStderrSink(std::unique_ptr<spdlog::formatter> formatter);
  ~BatchingStderrSink() override;
  BatchingStderrSink(const BatchingStderrSink&) = delete;
  BatchingStderrSink& operator=(const BatchingStderrSink&) = delete;

  void log(const spdlog::details::log_msg& msg) override;
  /// Wakes the writer (it writes what is pending soon, without waiting for the interval).
  void flush() override;
  void set_pattern(const std::string& pattern) override;
  void set_formatter(std::unique_ptr<spdlog::formatter> formatter) override;

  /// Writes what is pending and stops the writer thread; later lines are written at once.
  void stop() noexcept;
  /// Lines dropped so far because the buffer was full.
  std::uint64_t dropped() const noexcept { return dropped_total_.load(std::memory_order_relaxed); }

 private:
  void run();
  void write_out(const spdlog::memory_buf_t& bytes) noexcept;
  spdlog::formatter& thread_formatter();

  // The formatter template; each thread formats with its own clone (formatters cache the
  // time and are not thread-safe), re-cloned when `generation_` changes.
  std::mutex formatter_mutex_;
  std::unique_ptr<spdlog::formatter> formatter_;
  std::atomic<std::uint64_t> generation_{0};

  std::mutex mutex_;  // guards what follows
  std::condition_variable wake_;
  spdlog::memory_buf_t pending_;
  std::uint64_t dropped_ = 0;  // not yet reported
  bool writer_idle_ = false;   // waiting without a deadline: the next line must wake it
  bool wake_now_ = false;
  bool stopping_ = false;
  bool stopped_ = false;
  std::atomic<std::uint64_t> dropped_total_{0};
  std::thread writer_;
};

}  // namespace turnd::server
