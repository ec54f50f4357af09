# Compiler flags shared by every chasqui target.

# The warning set the code is held to. -Wconversion includes sign conversion in C: parsers
# that mix lengths and offsets are where that matters most, so it stays on.
set(CHASQUI_WARNINGS
    -Wall -Wextra -Wshadow -Wconversion -Wstrict-prototypes -Wmissing-prototypes
    -Wpointer-arith -Wvla -Wformat=2 -Wundef -Wcast-qual)
if(CHASQUI_WERROR)
    list(APPEND CHASQUI_WARNINGS -Werror)
endif()

set(CHASQUI_SANITIZER_FLAGS -fsanitize=address,undefined -fno-sanitize-recover=all
    -fno-omit-frame-pointer)

if(CHASQUI_SANITIZE)
    add_compile_options(${CHASQUI_SANITIZER_FLAGS})
    add_link_options(-fsanitize=address,undefined)
endif()

# chasqui_target(<target>): applies the project's warnings and include root to a target.
function(chasqui_target target)
    target_compile_options(${target} PRIVATE ${CHASQUI_WARNINGS})
    target_include_directories(${target} PUBLIC ${PROJECT_SOURCE_DIR})
endfunction()

# Coverage instrumentation for libFuzzer: every library a fuzz target links is compiled
# with it, so the fuzzer sees edges inside the parsers and not only in the target file.
if(CHASQUI_FUZZ)
    if(NOT CMAKE_C_COMPILER_ID STREQUAL "Clang")
        message(FATAL_ERROR "CHASQUI_FUZZ needs clang (CC=clang)")
    endif()
    add_compile_options(-fsanitize=fuzzer-no-link)
endif()
