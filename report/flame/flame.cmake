# Included from report/CMakeLists.txt (so CMAKE_CURRENT_SOURCE_DIR is report/).
# The flame-graph page's assets (report/flame/: page.html, flame.css, *.js) embedded into
# ns_report as C arrays (flame_html.h: ns_flame_embedded_assets), so `nsprof flame` writes a
# self-contained page from a single installed binary. The C source is generated at build
# time by flame_embed.cmake and regenerated when an asset changes; the glob is re-checked at
# build time, so a new .js file is picked up without re-running cmake by hand.
# NSPROF_FLAME_ASSET_DIR lets a throwaway build embed another template (the tests' minimal
# one, tests/unit/flame/page/) while the real page is being written.
set(NSPROF_FLAME_ASSET_DIR ${CMAKE_CURRENT_SOURCE_DIR}/flame CACHE PATH
    "directory of the flame-graph page assets embedded into nsprof")
file(GLOB NS_FLAME_ASSETS CONFIGURE_DEPENDS
     ${NSPROF_FLAME_ASSET_DIR}/*.html
     ${NSPROF_FLAME_ASSET_DIR}/*.css
     ${NSPROF_FLAME_ASSET_DIR}/*.js)
list(SORT NS_FLAME_ASSETS)
# A list cannot cross the command line intact (';' separates arguments): join with '|'.
string(REPLACE ";" "|" NS_FLAME_ASSETS_ARG "${NS_FLAME_ASSETS}")
set(NS_FLAME_GENERATED ${CMAKE_CURRENT_BINARY_DIR}/flame_assets.c)
add_custom_command(
  OUTPUT ${NS_FLAME_GENERATED}
  COMMAND ${CMAKE_COMMAND} -DOUT=${NS_FLAME_GENERATED} -DASSETS=${NS_FLAME_ASSETS_ARG}
          -P ${CMAKE_CURRENT_SOURCE_DIR}/flame/flame_embed.cmake
  DEPENDS ${NS_FLAME_ASSETS} ${CMAKE_CURRENT_SOURCE_DIR}/flame/flame_embed.cmake
  COMMENT "Embedding the flame-graph page assets"
  VERBATIM)
target_sources(ns_report PRIVATE ${NS_FLAME_GENERATED})
