// Real nats-server processes for the cluster tests: one server, or a JetStream cluster of
// three on loopback (free ports, a routes config, store folders in a temporary folder),
// with kill -9 and restart of a single server. Each test starts its own servers and the
// destructor kills them and removes the folder; servers and probe processes also die with
// the test process if it crashes (PR_SET_PDEATHSIG).
//
// Not thread-safe; for the test's main thread.
#pragma once

#include "cluster/connection.hpp"
#include "cluster/options.hpp"
#include "cluster/stream.hpp"

#include <gtest/gtest.h>

#include <algorithm>
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
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

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

// Starts `argv` (argv[0] a path) with standard output and error to `output` (a file,
// appended; or /dev/null). The child is killed when the test process dies, so a test that
// crashes leaves no servers behind. -1 when it cannot be started.
inline pid_t spawn(std::vector<std::string> args, const std::string& output = "/dev/null") {
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const pid_t parent = ::getpid();
    pid_t pid = ::fork();
    if (pid != 0) return pid;
    // The child: only async-signal-safe calls until exec.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);  // the test died already
    int fd = ::open(output.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
        ::dup2(fd, 1);
        ::dup2(fd, 2);
        ::close(fd);
    }
    ::execv(argv[0], argv.data());
    ::_exit(127);
}

inline std::string nats_server_binary() {
    if (const char* env = std::getenv("NATS_SERVER")) return env;
    for (const char* p : {"/usr/sbin/nats-server", "/usr/bin/nats-server", "/usr/local/bin/nats-server"})
        if (std::filesystem::exists(p)) return p;
    return {};
}

class nats_cluster {
public:
    // `nodes` servers; with more than one, a JetStream cluster joined by routes.
    explicit nats_cluster(int nodes = 3) {
        char pattern[] = "/tmp/redflag-nats-XXXXXX";
        folder_ = ::mkdtemp(pattern);
        // A free port may be taken by another test between choosing and binding it: the
        // server then exits, and the whole set starts again on other ports.
        for (int attempt = 0;; ++attempt) {
            nodes_.clear();
            for (int i = 0; i < nodes; ++i) {
                std::error_code ec;
                std::filesystem::remove(folder_ + "/n" + std::to_string(i) + ".log", ec);
                std::filesystem::remove_all(folder_ + "/store" + std::to_string(i), ec);
            }
            for (int i = 0; i < nodes; ++i) nodes_.push_back({free_port(), free_port(), -1});
            for (int i = 0; i < nodes; ++i) write_config(i);
            for (int i = 0; i < nodes; ++i) start(i);
            if (all_listening() || attempt == 2) break;
            for (int i = 0; i < nodes; ++i) kill9(i);
        }
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
        if (nats_server_binary().empty())
            throw std::runtime_error("nats-server not found (install it: deploy/install-deps.sh test, or set NATS_SERVER)");
        std::string conf = folder_ + "/n" + std::to_string(i) + ".conf";
        pid_t pid = spawn({nats_server_binary(), "-c", conf}, folder_ + "/n" + std::to_string(i) + ".log");
        if (pid <= 0) throw std::runtime_error("cannot start nats-server (install it: deploy/install-deps.sh test)");
        nodes_[i].pid = pid;
    }

    // Every server logged that it listens on its own ports ("Server is ready"), rather
    // than exiting because a port was taken.
    bool all_listening() {
        return eventually([&] {
            for (int i = 0; i < size(); ++i) {
                int st = 0;
                if (nodes_[i].pid > 0 && ::waitpid(nodes_[i].pid, &st, WNOHANG) == nodes_[i].pid) {
                    nodes_[i].pid = -1;  // exited
                    return true;        // stop waiting: a failure
                }
                if (log(i).find("Server is ready") == std::string::npos) return false;
            }
            return true;
        }, std::chrono::milliseconds(10000)) &&
               std::all_of(nodes_.begin(), nodes_.end(), [](const node& n) { return n.pid > 0; });
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
        pid = spawn(std::move(args));
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
