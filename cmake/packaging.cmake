# Installing Flowdeck as a Debian application, and its .deb (CPack). Paths follow Debian 12 with
# CMAKE_INSTALL_PREFIX=/usr (the package preset); `scripts/setup.sh package` builds the package.

set(FLOWDECK_HOMEPAGE "https://example.org/flowdeck" CACHE STRING "The project's home page (package, AppStream)")
set(FLOWDECK_SCREENSHOT_URL "${FLOWDECK_HOMEPAGE}/screenshots" CACHE STRING
    "Where docs/screenshots/*.png are published (AppStream)")
set(FLOWDECK_MAINTAINER "Flowdeck maintainers <flowdeck@example.org>" CACHE STRING "The package's maintainer")

set(metainfo io.github.flowdeck.Flowdeck.metainfo.xml)
configure_file(resources/${metainfo}.in ${CMAKE_BINARY_DIR}/${metainfo} @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/${metainfo} DESTINATION ${CMAKE_INSTALL_DATADIR}/metainfo)

install(FILES resources/completion/flowdeck.bash
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME flowdeck)

# Debian 12 keeps packaged units in /lib/systemd/system (another prefix, such as ~/.local, gets its own
# lib/systemd/system); the environment file is a conffile that may hold a password, so only root reads
# it (systemd reads it before starting the worker). CMAKE_INSTALL_FULL_SYSCONFDIR is /etc for /usr.
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
    set(FLOWDECK_UNIT_DIR /lib/systemd/system)
else()
    set(FLOWDECK_UNIT_DIR ${CMAKE_INSTALL_LIBDIR}/systemd/system)
endif()
install(FILES resources/systemd/flowdeck-worker@.service DESTINATION ${FLOWDECK_UNIT_DIR})
install(FILES resources/systemd/worker.env DESTINATION ${CMAKE_INSTALL_FULL_SYSCONFDIR}/flowdeck
        PERMISSIONS OWNER_READ OWNER_WRITE)

# What Debian expects of every package's documentation folder: the copyright and a changelog.
configure_file(resources/debian/changelog.in ${CMAKE_BINARY_DIR}/debian/changelog @ONLY)
add_custom_command(OUTPUT ${CMAKE_BINARY_DIR}/debian/changelog.gz
    COMMAND gzip -9nkf ${CMAKE_BINARY_DIR}/debian/changelog
    DEPENDS ${CMAKE_BINARY_DIR}/debian/changelog)
add_custom_target(flowdeck_changelog ALL DEPENDS ${CMAKE_BINARY_DIR}/debian/changelog.gz)
install(FILES resources/debian/copyright ${CMAKE_BINARY_DIR}/debian/changelog.gz
        DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/flowdeck)
file(WRITE ${CMAKE_BINARY_DIR}/debian/conffiles "${CMAKE_INSTALL_FULL_SYSCONFDIR}/flowdeck/worker.env\n")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME flowdeck)
set(CPACK_PACKAGE_VENDOR "Flowdeck")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${FLOWDECK_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_SECTION utils)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "${FLOWDECK_HOMEPAGE}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "dashboard with an embedded workflow engine")
# Lines of at most 80 characters; CPack indents them and marks the empty line.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "Flowdeck runs workflows, small graphs of tasks described in JSON files
(shell commands, HTTP requests, blocking work, timers), from a desktop
window or the command line, and shows live every task run, the event
loop's lag, the database connection pool, the blocking thread pool and
the slots of each tag concurrency limit.

Runs are stored in SQLite or PostgreSQL. Workers on several machines can
share one PostgreSQL database; the flowdeck-worker@.service systemd unit
runs one as a service.")
# The libraries the binary links are found by dpkg-shlibdeps. Qt loads its SQL drivers, platform
# and image plugins at run time, where dpkg-shlibdeps cannot see them: the SQLite driver (the
# default database) and the platform plugins are named here, the rest suggested. QTimeZone reads the
# schedules' time zones from tzdata's files.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "libqt6sql6-sqlite, qt6-qpa-plugins, tzdata")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "libqt6svg6")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "libqt6sql6-psql, postgresql, bash-completion")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${CMAKE_BINARY_DIR}/debian/conffiles
    ${PROJECT_SOURCE_DIR}/resources/debian/postinst
    ${PROJECT_SOURCE_DIR}/resources/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
