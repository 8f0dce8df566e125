// A fresh RocksDB store in a temporary directory per test, removed afterwards (the
// external-ids index and the unmatched store keep their records in real columns).
#pragma once

#include "store/store.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>

#include <stdlib.h>

namespace redflag::ingest::adapters::testing {

class StoreFixture : public ::testing::Test {
protected:
    void SetUp() override {
        std::string tmpl = (std::filesystem::temp_directory_path() / "redflag-hooks-XXXXXX").string();
        ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
        dir_ = tmpl;
        reopen();
    }
    void TearDown() override {
        store_.reset();
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }
    void reopen() {
        store_.reset();
        store::options opts;
        opts.path = dir_ + "/db";
        opts.block_cache_bytes = 8u << 20;
        opts.write_buffer_bytes = 16u << 20;
        std::string error;
        store_ = store::store::open(opts, error);
        ASSERT_TRUE(store_) << error;
    }

    std::string dir_;
    std::unique_ptr<store::store> store_;
};

}  // namespace redflag::ingest::adapters::testing
