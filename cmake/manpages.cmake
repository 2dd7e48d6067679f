# manpages.cmake - the manual pages: docs/man/NAME.SECTION.md (pandoc
# markdown) made into man pages with pandoc, installed to share/man:
# section 8 (shmnode) with the daemon, section 1 (shmext) with the
# command, section 3 (the library's calls) with the development files.
# Without pandoc (Debian: apt-get install pandoc) there are no man pages,
# and configuring says so.
find_program(SHMX_PANDOC pandoc)
if(NOT SHMX_PANDOC)
  message(STATUS "pandoc not found: no man pages (apt-get install pandoc)")
  return()
endif()
file(GLOB SHMX_MAN_SOURCES CONFIGURE_DEPENDS
  ${PROJECT_SOURCE_DIR}/docs/man/*.md)
set(SHMX_MAN_PAGES "")
foreach(src ${SHMX_MAN_SOURCES})
  get_filename_component(file ${src} NAME)
  string(REGEX REPLACE "\\.md$" "" page ${file})
  string(REGEX MATCH "[0-9]$" section ${page})
  set(out ${PROJECT_BINARY_DIR}/man/${page})
  add_custom_command(OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${PROJECT_BINARY_DIR}/man
    COMMAND ${SHMX_PANDOC} -s -t man ${src} -o ${out}
    DEPENDS ${src} VERBATIM)
  list(APPEND SHMX_MAN_PAGES ${out})
  if(section STREQUAL "8")
    set(component node)
  elseif(section STREQUAL "1")
    set(component cli)
  else()
    set(component dev)
  endif()
  install(FILES ${out} DESTINATION ${CMAKE_INSTALL_MANDIR}/man${section}
    COMPONENT ${component})
endforeach()
add_custom_target(man ALL DEPENDS ${SHMX_MAN_PAGES})
