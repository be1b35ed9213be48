#include "server/logging_sink.hpp"

#include <spdlog/pattern_formatter.h>

#include <cstdio>
#include <string>
#include <utility>

namespace turnd::server {

BatchingStderrSink::BatchingStderrSink(std::unique_ptr<spdlog::formatter> formatter)
    : formatter_(std::move(formatter)) {
  writer_ = std::thread([this] { run(); });
}

BatchingStderrSink::~BatchingStderrSink() { stop(); }

spdlog::formatter& BatchingStderrSink::thread_formatter() {
  struct Clone {
    const BatchingStderrSink* sink = nullptr;
    std::uint64_t generation = 0;
    std::unique_ptr<spdlog::formatter> formatter;
  };
  thread_local Clone clone;
  const auto generation = generation_.load(std::memory_order_acquire);
  if (clone.sink != this || clone.generation != generation || !clone.formatter) {
    std::lock_guard lock{formatter_mutex_};
    clone.formatter = formatter_->clone();
    clone.sink = this;
    clone.generation = generation;
  }
  return *clone.formatter;
}

void BatchingStderrSink::log(const spdlog::details::log_msg& msg) {
  // Formatted outside the lock, on the caller's thread, into a buffer reused per thread.
  thread_local spdlog::memory_buf_t line;
  line.clear();
  thread_formatter().format(msg, line);
  bool notify = false;
  {
    std::lock_guard lock{mutex_};
    if (stopped_) {  // after stop(): nobody will write it later
      write_out(line);
      return;
    }
    if (pending_.size() + line.size() > kMaxPendingBytes) {
      ++dropped_;
      dropped_total_.fetch_add(1, std::memory_order_relaxed);
    } else {
      pending_.append(line.data(), line.data() + line.size());
    }
    if (writer_idle_) {
      writer_idle_ = false;  // one wake-up is enough
      notify = true;
    } else if (msg.level >= spdlog::level::warn || pending_.size() >= kWakeBytes) {
      wake_now_ = true;
      notify = true;
    }
  }
  if (notify) wake_.notify_one();
}

void BatchingStderrSink::flush() {
  {
    std::lock_guard lock{mutex_};
    wake_now_ = true;
  }
  wake_.notify_one();
}

void BatchingStderrSink::set_pattern(const std::string& pattern) {
  set_formatter(std::make_unique<spdlog::pattern_formatter>(pattern));
}

void BatchingStderrSink::set_formatter(std::unique_ptr<spdlog::formatter> formatter) {
  std::lock_guard lock{formatter_mutex_};
  formatter_ = std::move(formatter);
  generation_.fetch_add(1, std::memory_order_release);
}

void BatchingStderrSink::stop() noexcept {
  {
    std::lock_guard lock{mutex_};
    if (stopping_) return;
    stopping_ = true;
  }
  wake_.notify_one();
  if (writer_.joinable()) writer_.join();
}

void BatchingStderrSink::write_out(const spdlog::memory_buf_t& bytes) noexcept {
  if (bytes.size() == 0) return;
  std::fwrite(bytes.data(), 1, bytes.size(), stderr);
  std::fflush(stderr);
}

void BatchingStderrSink::run() {
  spdlog::memory_buf_t writing;
  std::unique_lock lock{mutex_};
  for (;;) {
    if (pending_.size() == 0 && dropped_ == 0) {
      if (stopping_) {
        stopped_ = true;
        return;
      }
      // Idle: the next line wakes the writer, so a quiet server's lines appear at once.
      writer_idle_ = true;
      wake_.wait(lock, [&] { return pending_.size() != 0 || dropped_ != 0 || stopping_; });
      writer_idle_ = false;
    }
    std::swap(writing, pending_);
    const auto dropped = std::exchange(dropped_, 0);
    lock.unlock();
    if (dropped != 0) {
      const std::string text = std::to_string(dropped) +
                               " log line(s) dropped: the log buffer was full (stderr blocked?)";
      thread_formatter().format(spdlog::details::log_msg{"turnd", spdlog::level::warn, text},
                                writing);
    }
    write_out(writing);
    writing.clear();
    lock.lock();
    // Busy: collect the lines of the next interval into one write; producers do not wake the
    // writer meanwhile unless a line is urgent or the buffer fills.
    if (!stopping_) wake_.wait_for(lock, kBatchInterval, [&] { return wake_now_ || stopping_; });
    wake_now_ = false;
  }
}

}  // namespace turnd::server
