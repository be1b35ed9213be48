#include "server/shard.hpp"

#include <boost/asio/post.hpp>

#include "server/allocation_json.hpp"

namespace turnd::server {

Shard::Shard(unsigned id, SharedServices& services)
    : config_(services.config), state_(id, io_, services), dispatcher_(state_) {}

void Shard::open_listeners() {
  io::StreamPolicy stream_policy{config_.first_message_timeout, config_.connection_idle_timeout,
                                 &state_.services().connections};
  stream_policy.handshake_timeout = config_.tls_handshake_timeout;
  for (const auto& addr : config_.listen) {
    udp_.push_back(std::make_unique<io::UdpListener>(io_, addr, dispatcher_, state_.sends(),
                                                     state_.counters(),
                                                     state_.services().udp_offload.gro));
    tcp_.push_back(std::make_unique<io::TcpListener>(io_, addr, dispatcher_, stream_policy,
                                                     state_.counters()));
    if (auto role = state_.nat_discovery().role_of(addr))
      state_.nat_discovery().set_socket(*role, udp_.back()->native_handle());
  }
  open_nat_discovery_listeners(stream_policy);
  stream_policy.tls = &state_.services().tls;
  for (const auto& addr : config_.listen_tls)
    tcp_.push_back(std::make_unique<io::TcpListener>(io_, addr, dispatcher_, stream_policy,
                                                     state_.counters()));
  for (const auto& addr : config_.listen_dtls)
    dtls_.push_back(std::make_unique<io::DtlsListener>(io_, addr, dispatcher_, state_.sends(),
                                                       stream_policy, state_.counters()));
}

// RFC 5780: the discovery addresses that are not listen addresses get UDP and TCP listeners
// of their own (Binding only: the dispatcher answers TURN there with 400).
void Shard::open_nat_discovery_listeners(const io::StreamPolicy& stream_policy) {
  NatDiscovery& nat = state_.nat_discovery();
  if (!nat.enabled()) return;
  for (std::size_t r = 1; r < 4; ++r) {
    const auto role = static_cast<DiscoveryRole>(r);
    if (!nat.addresses().has(role) || nat.addresses().is_listen[r]) continue;
    const auto& addr = nat.addresses()[role];
    udp_.push_back(std::make_unique<io::UdpListener>(io_, addr, dispatcher_, state_.sends(),
                                                     state_.counters(),
                                                     state_.services().udp_offload.gro));
    nat.set_socket(role, udp_.back()->native_handle());
    tcp_.push_back(std::make_unique<io::TcpListener>(io_, addr, dispatcher_, stream_policy,
                                                     state_.counters()));
  }
}

void Shard::run() {
  for (auto& l : udp_) l->start();
  for (auto& l : tcp_) l->start();
  for (auto& l : dtls_) l->start();
  state_.owner().bind_to_current_thread();
  state_.start_sweeping();
  state_.start_handoff();
  io_.run();
  state_.owner().release();  // the loop is over: the control thread tears the shard down
}

void Shard::post_credentials(auth::CredentialsPtr credentials) {
  boost::asio::post(io_, [this, c = std::move(credentials)] { state_.auth().set_credentials(c); });
}

std::future<std::size_t> Shard::post_close_user(std::string user, std::string reason,
                                                AllocationTable::UserMatch match) {
  auto promise = std::make_shared<std::promise<std::size_t>>();
  auto result = promise->get_future();
  boost::asio::post(io_, [this, promise, u = std::move(user), r = std::move(reason), match] {
    state_.begin_event();
    promise->set_value(state_.allocations().remove_by_user(u, r, match));
  });
  return result;
}

void Shard::post_policy(PolicyPtr policy) {
  boost::asio::post(io_, [this, p = std::move(policy)]() mutable {
    for (auto& l : tcp_)
      l->set_timeouts(p->config.first_message_timeout, p->config.connection_idle_timeout,
                      p->config.tls_handshake_timeout);
    for (auto& l : dtls_)
      l->set_timeouts(p->config.connection_idle_timeout, p->config.tls_handshake_timeout);
    state_.set_policy(std::move(p));
  });
}

std::future<boost::json::array> Shard::describe_allocations() {
  auto promise = std::make_shared<std::promise<boost::json::array>>();
  auto result = promise->get_future();
  boost::asio::post(io_, [this, promise] {
    state_.begin_event();
    boost::json::array list;
    state_.allocations().for_each([&](const Allocation& a) {
      auto o = describe(a, state_.now());
      o["shard"] = state_.id();  // which thread serves it (relay to relay across shards)
      list.push_back(std::move(o));
    });
    promise->set_value(std::move(list));
  });
  return result;
}

void Shard::stop() {
  boost::asio::post(io_, [this] {
    for (auto& l : tcp_) l->close();
    for (auto& l : dtls_) l->close();
    state_.stop_sweeping();
    state_.stop_handoff();
    io_.stop();
  });
}

}  // namespace turnd::server
