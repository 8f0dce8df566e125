# Compiles the web console's files (ui/, README "Web console") into the binary: writes OUT,
# a C++ source defining redflag::http::console_files(), one entry per file with the
# path it is served under (below /ui/assets/ or a page name), its bytes and a strong ETag
# (the SHA-256 of the bytes, cut to 16 hex digits). Inputs: OUT and FILES, a list of
# "served-name=source-path" pairs
# separated by "|". configure_file writes OUT only when it changes.
string(REPLACE "|" ";" FILES "${FILES}")
set(entries "")
set(arrays "")
set(n 0)
foreach(pair IN LISTS FILES)
  string(FIND "${pair}" "=" eq)
  string(SUBSTRING "${pair}" 0 ${eq} name)
  math(EXPR from "${eq} + 1")
  string(SUBSTRING "${pair}" ${from} -1 source)
  file(READ "${source}" hex HEX)
  file(SHA256 "${source}" sha)
  string(SUBSTRING "${sha}" 0 16 etag)
  string(LENGTH "${hex}" hex_length)
  math(EXPR size "${hex_length} / 2")
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "'\\\\x\\1'," bytes "${hex}")
  string(APPEND arrays "constexpr char file_${n}[] = {${bytes} 0};\n")
  string(APPEND entries "    {\"${name}\", std::string_view(file_${n}, ${size}), \"\\\"${etag}\\\"\"},\n")
  math(EXPR n "${n} + 1")
endforeach()
set(CONSOLE_ARRAYS "${arrays}")
set(CONSOLE_ENTRIES "${entries}")
configure_file("${CMAKE_CURRENT_LIST_DIR}/ui_files.cpp.in" "${OUT}" @ONLY)
