#include "server/service_notify.hpp"

#include <systemd/sd-daemon.h>

#include <ctime>
#include <string>

namespace turnd::server::service {

void notify_ready() { sd_notify(0, "READY=1"); }

void notify_reloading() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  const auto usec = static_cast<unsigned long long>(ts.tv_sec) * 1'000'000ull +
                    static_cast<unsigned long long>(ts.tv_nsec) / 1000;
  sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu", usec);
}

void notify_stopping() { sd_notify(0, "STOPPING=1"); }

void notify_status(std::string_view text) {
  const std::string line = "STATUS=" + std::string(text.substr(0, 200));
  sd_notify(0, line.c_str());
}

}  // namespace turnd::server::service
