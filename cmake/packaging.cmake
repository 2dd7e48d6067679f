# packaging.cmake - Debian packages with CPack, one per component:
#   shmnode        the memory node daemon, its systemd unit and its
#                  settings (/etc/shmext/shmnode.conf, a conffile)
#   libshmext0     the library (runtime)
#   libshmext-dev  headers, the link-time .so, pkg-config and CMake files
#   shmext         the shmext command
# Build them from a tree configured with -DCMAKE_INSTALL_PREFIX=/usr:
#   cmake -S . -B build-pkg -DCMAKE_BUILD_TYPE=Release \
#         -DCMAKE_INSTALL_PREFIX=/usr -DSHMX_TESTS=OFF
#   cmake --build build-pkg -j && (cd build-pkg && cpack -G DEB)
# dpkg-shlibdeps (dpkg-dev) works out the dependencies on Debian's
# libraries; the packages' dependencies on each other are set here.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME shmext)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "shared memory over an RDMA fabric")
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "shmext developers")
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL node lib dev cli)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# libshmext.so.0 is this build's: found here, depended on by name below.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS_PRIVATE_DIRS
  ${PROJECT_BINARY_DIR}/extlayer)
set(SHMX_DEB_LIB "libshmext${PROJECT_VERSION_MAJOR}")
set(SHMX_DEB_LIB_EXACT "${SHMX_DEB_LIB} (= ${PROJECT_VERSION})")

set(CPACK_DEBIAN_NODE_PACKAGE_NAME shmnode)
set(CPACK_DEBIAN_NODE_PACKAGE_SECTION net)
set(CPACK_COMPONENT_NODE_DESCRIPTION
  "shmext memory node daemon\n shmnode registers a large memory region with an RDMA fabric (rdma-core\n verbs, or libfabric) and exports it to the compute nodes that link\n libshmext: pools, named segments, ownership, global locks, membership.")
set(CPACK_DEBIAN_NODE_PACKAGE_CONTROL_EXTRA
  ${PROJECT_SOURCE_DIR}/deploy/debian/shmnode/conffiles)

set(CPACK_DEBIAN_LIB_PACKAGE_NAME ${SHMX_DEB_LIB})
set(CPACK_DEBIAN_LIB_PACKAGE_SECTION libs)
set(CPACK_COMPONENT_LIB_DESCRIPTION
  "shmext client library (runtime)\n libshmext gives programs on compute nodes the shared memory of a memory\n node running shmnode: allocation, segments, ownership, global locks,\n signals and messages.")

set(CPACK_DEBIAN_DEV_PACKAGE_NAME libshmext-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS "${SHMX_DEB_LIB_EXACT}")
set(CPACK_COMPONENT_DEV_DESCRIPTION
  "shmext client library (development files)\n The header shmext/shmext.h, the link-time library, shmext.pc for\n pkg-config and the files of find_package(shmext) for CMake.")

set(CPACK_DEBIAN_CLI_PACKAGE_NAME shmext)
set(CPACK_DEBIAN_CLI_PACKAGE_SECTION net)
set(CPACK_DEBIAN_CLI_PACKAGE_DEPENDS "${SHMX_DEB_LIB_EXACT}")
set(CPACK_COMPONENT_CLI_DESCRIPTION
  "shmext command\n The shmext command uses a memory node from the shell: info, memory,\n pools, segments, locks, signals and messages, the demo and the benchmark.")

include(CPack)
