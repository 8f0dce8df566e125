# event_fuzz (included from CMakeLists.txt here): the event path below HTTP, body decode →
# the one event decoder → account state → the storage codecs, compiled into the target
# so that libFuzzer's coverage and the sanitizers instrument it.
file(GLOB event_path CONFIGURE_DEPENDS
  ${CMAKE_SOURCE_DIR}/src/core/*.cpp
  ${CMAKE_SOURCE_DIR}/src/model/*.cpp
  ${CMAKE_SOURCE_DIR}/src/ingest/decode.cpp
  ${CMAKE_SOURCE_DIR}/src/ingest/validate.cpp
  ${CMAKE_SOURCE_DIR}/src/ingest/content_hash.cpp)

add_executable(event_fuzz ${CMAKE_CURRENT_SOURCE_DIR}/event_fuzz.cpp ${event_path})
target_include_directories(event_fuzz PRIVATE ${CMAKE_SOURCE_DIR}/src)
target_compile_options(event_fuzz PRIVATE -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -g -O1)
target_link_options(event_fuzz PRIVATE -fsanitize=fuzzer,address,undefined)
target_link_libraries(event_fuzz PRIVATE Boost::json OpenSSL::Crypto date::date spdlog::spdlog)
