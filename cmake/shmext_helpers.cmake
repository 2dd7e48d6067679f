# Helper functions that keep each folder's CMakeLists.txt to a few lines.

# shmx_add_sources(target dir file...): add files of a subfolder to a target.
function(shmx_add_sources target)
  foreach(f IN LISTS ARGN)
    target_sources(${target} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/${f})
  endforeach()
endfunction()
