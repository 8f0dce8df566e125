// A RocksDB Env whose file writes fail on demand, for tests of the write path's failure
// modes (a full disk, a dying device) without a full disk: store::options::env takes it.
//
// It wraps the default file system; every writable file it opens checks, on each append
// and sync, whether writes of its kind (the WAL: "*.log"; tables: "*.sst"; the rest:
// MANIFEST, OPTIONS, ...) are armed to fail, and then returns the armed IOStatus instead
// of writing (by default IOStatus::NoSpace, what a full disk gives), and the free space
// is 0. Disarm to let writes through again, as when space returns. Thread-safe (atomics): RocksDB writes
// from its own background threads.
#pragma once

#include <rocksdb/env.h>
#include <rocksdb/file_system.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

namespace redflag::testing {

class fault_fs final : public rocksdb::FileSystemWrapper {
public:
    enum kind : unsigned { wal = 1, table = 2, other = 4, all = 7 };

    fault_fs() : rocksdb::FileSystemWrapper(rocksdb::FileSystem::Default()) {}
    static const char* kClassName() { return "redflag_fault_fs"; }
    const char* Name() const override { return kClassName(); }

    // Writes of the kinds in `kinds` fail from now on with `error` (no space by default).
    void fail(unsigned kinds, rocksdb::IOStatus error = rocksdb::IOStatus::NoSpace("injected: no space left on device")) {
        {
            std::lock_guard lock(mutex_);
            error_ = std::move(error);
        }
        failing_ = kinds;
    }
    void heal() { failing_ = 0; }
    // How many writes were refused so far.
    std::size_t refused() const { return refused_; }

    // A full disk has no free space: RocksDB's own recovery (its SstFileManager polls the
    // free space) waits for some, as it would on a real device.
    rocksdb::IOStatus GetFreeSpace(const std::string& path, const rocksdb::IOOptions& options, uint64_t* free,
                                   rocksdb::IODebugContext* dbg) override {
        if (failing_.load() != 0) {
            *free = 0;
            return rocksdb::IOStatus::OK();
        }
        return target()->GetFreeSpace(path, options, free, dbg);
    }

    rocksdb::IOStatus NewWritableFile(const std::string& name, const rocksdb::FileOptions& options,
                                      std::unique_ptr<rocksdb::FSWritableFile>* result,
                                      rocksdb::IODebugContext* dbg) override {
        if (auto st = refuse(kind_of(name)); !st.ok()) return st;
        auto st = target()->NewWritableFile(name, options, result, dbg);
        if (st.ok()) *result = std::make_unique<file>(*this, kind_of(name), std::move(*result));
        return st;
    }
    rocksdb::IOStatus ReopenWritableFile(const std::string& name, const rocksdb::FileOptions& options,
                                         std::unique_ptr<rocksdb::FSWritableFile>* result,
                                         rocksdb::IODebugContext* dbg) override {
        auto st = target()->ReopenWritableFile(name, options, result, dbg);
        if (st.ok()) *result = std::make_unique<file>(*this, kind_of(name), std::move(*result));
        return st;
    }
    rocksdb::IOStatus ReuseWritableFile(const std::string& name, const std::string& old_name,
                                        const rocksdb::FileOptions& options,
                                        std::unique_ptr<rocksdb::FSWritableFile>* result,
                                        rocksdb::IODebugContext* dbg) override {
        auto st = target()->ReuseWritableFile(name, old_name, options, result, dbg);
        if (st.ok()) *result = std::make_unique<file>(*this, kind_of(name), std::move(*result));
        return st;
    }

private:
    static unsigned kind_of(const std::string& name) {
        auto ends = [&](const char* suffix) {
            std::string s(suffix);
            return name.size() >= s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0;
        };
        if (ends(".log")) return wal;
        if (ends(".sst")) return table;
        return other;
    }

    rocksdb::IOStatus refuse(unsigned k) {
        if ((failing_.load() & k) == 0) return rocksdb::IOStatus::OK();
        ++refused_;
        std::lock_guard lock(mutex_);
        return error_;
    }

    class file final : public rocksdb::FSWritableFileOwnerWrapper {
    public:
        file(fault_fs& fs, unsigned k, std::unique_ptr<rocksdb::FSWritableFile> target)
            : rocksdb::FSWritableFileOwnerWrapper(std::move(target)), fs_(fs), kind_(k) {}
        rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o,
                                 rocksdb::IODebugContext* dbg) override {
            if (auto st = fs_.refuse(kind_); !st.ok()) return st;
            return target()->Append(data, o, dbg);
        }
        rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o,
                                 const rocksdb::DataVerificationInfo& info, rocksdb::IODebugContext* dbg) override {
            if (auto st = fs_.refuse(kind_); !st.ok()) return st;
            return target()->Append(data, o, info, dbg);
        }
        rocksdb::IOStatus PositionedAppend(const rocksdb::Slice& data, uint64_t offset, const rocksdb::IOOptions& o,
                                           rocksdb::IODebugContext* dbg) override {
            if (auto st = fs_.refuse(kind_); !st.ok()) return st;
            return target()->PositionedAppend(data, offset, o, dbg);
        }
        rocksdb::IOStatus Sync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
            if (auto st = fs_.refuse(kind_); !st.ok()) return st;
            return target()->Sync(o, dbg);
        }
        rocksdb::IOStatus Fsync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
            if (auto st = fs_.refuse(kind_); !st.ok()) return st;
            return target()->Fsync(o, dbg);
        }

    private:
        fault_fs& fs_;
        unsigned kind_;
    };

    std::atomic<unsigned> failing_{0};
    std::atomic<std::size_t> refused_{0};
    std::mutex mutex_;
    rocksdb::IOStatus error_;
};

// The Env to give store::options::env, and the file system to arm.
struct fault_env {
    std::shared_ptr<fault_fs> fs = std::make_shared<fault_fs>();
    std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(fs);
};

}  // namespace redflag::testing
