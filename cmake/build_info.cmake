# Writes the build's identity (src/metrics/build_info.hpp) at build time, so the revision
# follows the checkout without a re-configure. configure_file rewrites OUT only when its
# content changes, so an unchanged revision rebuilds nothing.
# Inputs: SOURCE_DIR, IN, OUT, VERSION, REVISION (empty: asked of git), COMPILER, BUILD_TYPE.
if(NOT REVISION)
  execute_process(COMMAND git -C "${SOURCE_DIR}" rev-parse --short=12 HEAD
                  OUTPUT_VARIABLE REVISION OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE failed)
  if(failed OR NOT REVISION)
    set(REVISION "unknown")
  else()
    execute_process(COMMAND git -C "${SOURCE_DIR}" status --porcelain --untracked-files=no
                    OUTPUT_VARIABLE changes ERROR_QUIET)
    if(changes)
      string(APPEND REVISION "-dirty")
    endif()
  endif()
endif()
configure_file("${IN}" "${OUT}" @ONLY)
