// Real nats-server processes for the cluster tests: one server, or a JetStream cluster of
// three on loopback (free ports, a routes config, store folders in a temporary folder),
// with kill -9 and restart of a single server. Each test starts its own servers and the
// destructor kills them and removes the folder.
//
// Not thread-safe; for the test's main thread.
#pragma once

#include "cluster/connection.hpp"
#include "cluster/options.hpp"
#include "cluster/stream.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace redflag::cluster::testing {

inline int free_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    socklen_t len = sizeof(a);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(fd);
    return ntohs(a.sin_port);
}

// Waits until `ok()` holds, polling; false when `timeout` passed first.
inline bool eventually(const std::function<bool()>& ok, std::chrono::milliseconds timeout,
                       std::chrono::milliseconds poll = std::chrono::milliseconds(20)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        if (ok()) return true;
        std::this_thread::sleep_for(poll);
    }
    return ok();
}

inline std::string nats_server_binary() {
    if (const char* env = std::getenv("NATS_SERVER")) return env;
    for (const char* p : {"/usr/sbin/nats-server", "/usr/bin/nats-server", "/usr/local/bin/nats-server"})
        if (std::filesystem::exists(p)) return p;
    return "nats-server";
}

class nats_cluster {
public:
    // `nodes` servers; with more than one, a JetStream cluster joined by routes.
    explicit nats_cluster(int nodes = 3) {
        char pattern[] = "/tmp/redflag-nats-XXXXXX";
        folder_ = ::mkdtemp(pattern);
        for (int i = 0; i < nodes; ++i) nodes_.push_back({free_port(), free_port(), -1});
        for (int i = 0; i < nodes; ++i) write_config(i);
        for (int i = 0; i < nodes; ++i) start(i);
        wait_ready();
    }

    ~nats_cluster() {
        for (std::size_t i = 0; i < nodes_.size(); ++i) kill9(static_cast<int>(i));
        std::error_code ec;
        std::filesystem::remove_all(folder_, ec);
    }

    nats_cluster(const nats_cluster&) = delete;
    nats_cluster& operator=(const nats_cluster&) = delete;

    int size() const { return static_cast<int>(nodes_.size()); }
    std::string url(int i) const { return "nats://127.0.0.1:" + std::to_string(nodes_[i].client_port); }
    std::vector<std::string> urls() const {
        std::vector<std::string> out;
        for (int i = 0; i < size(); ++i) out.push_back(url(i));
        return out;
    }
    const std::string& folder() const { return folder_; }

    // Options for an instance named `node` against these servers, with test timings.
    options cluster_options(const std::string& node, int partitions = 64) const {
        options o;
        o.nats = urls();
        o.node = node;
        o.partitions = partitions;
        o.replicas = size() >= 3 ? 3 : 1;
        o.lease_ttl = std::chrono::milliseconds(2000);
        o.renew_interval = std::chrono::milliseconds(400);
        o.publish_timeout = std::chrono::milliseconds(10000);
        o.consumer_heartbeat = std::chrono::milliseconds(500);
        return o;
    }

    void kill9(int i) {
        auto& n = nodes_[i];
        if (n.pid <= 0) return;
        ::kill(n.pid, SIGKILL);
        int st = 0;
        ::waitpid(n.pid, &st, 0);
        n.pid = -1;
    }

    void restart(int i) {
        kill9(i);
        start(i);
    }

    bool running(int i) const { return nodes_[i].pid > 0; }

    std::string log(int i) const {
        std::ifstream in(folder_ + "/n" + std::to_string(i) + ".log");
        return std::string(std::istreambuf_iterator<char>(in), {});
    }

private:
    struct node {
        int client_port;
        int cluster_port;
        pid_t pid;
    };

    void write_config(int i) {
        std::ofstream out(folder_ + "/n" + std::to_string(i) + ".conf");
        out << "server_name: \"n" << i << "\"\n"
            << "listen: \"127.0.0.1:" << nodes_[i].client_port << "\"\n"
            << "jetstream {\n  store_dir: \"" << folder_ << "/store" << i << "\"\n"
            << "  max_memory_store: 268435456\n  max_file_store: 4294967296\n}\n";
        if (nodes_.size() > 1) {
            out << "cluster {\n  name: \"redflag_test\"\n  listen: \"127.0.0.1:" << nodes_[i].cluster_port
                << "\"\n  routes: [\n";
            for (std::size_t j = 0; j < nodes_.size(); ++j)
                if (static_cast<int>(j) != i) out << "    \"nats-route://127.0.0.1:" << nodes_[j].cluster_port << "\"\n";
            out << "  ]\n}\n";
        }
    }

    void start(int i) {
        std::string binary = nats_server_binary();
        std::string conf = folder_ + "/n" + std::to_string(i) + ".conf";
        std::string log = folder_ + "/n" + std::to_string(i) + ".log";
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        posix_spawn_file_actions_adddup2(&fa, 1, 2);
        std::vector<char*> argv{binary.data(), const_cast<char*>("-c"), conf.data(), nullptr};
        pid_t pid = -1;
        int rc = ::posix_spawn(&pid, binary.c_str(), &fa, nullptr, argv.data(), environ);
        posix_spawn_file_actions_destroy(&fa);
        if (rc != 0) throw std::runtime_error("cannot start " + binary + " (install nats-server: deploy/install-deps.sh test)");
        nodes_[i].pid = pid;
    }

    // Every server answers JetStream API requests (with a cluster: a meta leader exists).
    void wait_ready() {
        for (int i = 0; i < size(); ++i) {
            options o;
            o.nats = {url(i)};
            o.node = "harness";
            bool ready = eventually(
                [&] {
                    connect_options quick;
                    quick.connect_timeout = std::chrono::milliseconds(200);
                    return connection::open(o, quick).ok();
                },
                std::chrono::milliseconds(30000), std::chrono::milliseconds(100));
            if (!ready) throw std::runtime_error("nats-server n" + std::to_string(i) + " never became ready:\n" + log(i));
        }
    }

    std::string folder_;
    std::vector<node> nodes_;
};

// A connection to `servers` as instance `node`, with the event stream in place (retried
// while a fresh cluster places its replicas). Throws when that cannot be had.
struct connected_stream {
    options o;
    std::unique_ptr<connection> conn;

    connected_stream(const nats_cluster& servers, const std::string& node, int partitions)
        : o(servers.cluster_options(node, partitions)) {
        auto c = connection::open(o);
        if (!c) throw std::runtime_error(c.error().message());
        conn = std::move(*c);
        status st;
        eventually([&] { return (st = ensure_stream(*conn, o)).ok(); }, std::chrono::milliseconds(10000),
                   std::chrono::milliseconds(100));
        if (!st.ok()) throw std::runtime_error(st.message());
    }
};

// An instance in a process of its own (tests/cluster/lease_probe.cpp), to be killed -9:
// `mode` leases or runner, `extra` the mode's own arguments after the lease timings.
struct probe_process {
    pid_t pid = -1;

    probe_process(const nats_cluster& servers, const options& o, const std::string& mode,
                  std::vector<std::string> extra = {}) {
        std::vector<std::string> args{REDFLAG_LEASE_PROBE, mode, o.node, std::to_string(o.partitions),
                                      std::to_string(o.lease_ttl.count()), std::to_string(o.renew_interval.count())};
        args.insert(args.end(), extra.begin(), extra.end());
        for (const auto& u : servers.urls()) args.push_back(u);
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        posix_spawn_file_actions_t quiet;
        posix_spawn_file_actions_init(&quiet);
        posix_spawn_file_actions_addopen(&quiet, 1, "/dev/null", O_WRONLY, 0);
        if (::posix_spawn(&pid, argv[0], &quiet, nullptr, argv.data(), environ) != 0) pid = -1;
        posix_spawn_file_actions_destroy(&quiet);
    }
    probe_process(const probe_process&) = delete;
    probe_process& operator=(const probe_process&) = delete;
    ~probe_process() { kill9(); }

    void kill9() {
        if (pid <= 0) return;
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
        pid = -1;
    }
};

}  // namespace redflag::cluster::testing
