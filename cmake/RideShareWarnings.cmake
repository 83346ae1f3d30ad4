# Central warning flags (curl's PickyWarnings idea) and the sanitizer switch.
add_compile_options(-Wall -Wextra -Wshadow -Wpointer-arith -Wstrict-prototypes
                    -Wmissing-prototypes -Wformat=2 -Wno-unused-parameter)
add_compile_definitions(_GNU_SOURCE)
if(RIDESHARE_WERROR)
  add_compile_options(-Werror)
endif()
if(RIDESHARE_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()
