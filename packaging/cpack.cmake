# Packages for a public host: cmake --build BUILD --target package writes
#   BUILD/packages/turnd_VERSION-RELEASE_ARCH.deb and BUILD/packages/turnd-VERSION-RELEASE.ARCH.rpm
# with turnd and turnctl in /usr/bin, the systemd unit, /etc/turnd/turnd.yaml (a conffile whose
# REST secret lives in /etc/turnd/secret, generated at install), man pages, copyright and
# changelog. The version is project(turnd VERSION ...) in the top-level CMakeLists.txt; see
# packaging/README.md for what the maintainer scripts do.
set(TURND_PACKAGE_RELEASE 1 CACHE STRING "Package release: Debian revision and rpm Release")
set(TURND_PACKAGING_DIR ${CMAKE_CURRENT_LIST_DIR})
set(TURND_PACKAGE_BUILD_DIR ${CMAKE_BINARY_DIR}/packaging)
set(TURND_CONF_DIR /etc/turnd)
set(TURND_DOC_DIR share/doc/turnd)

# --- generated files --------------------------------------------------------------------------
# The installed config is the documented default (packaging/turnd.yaml, also compiled into
# turnd) with one change: the REST secret comes from the file the install scripts generate.
# config/CMakeLists.txt names the same file by the same path, so CMake lists it once.
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
             ${TURND_PACKAGING_DIR}/turnd.yaml ${TURND_PACKAGING_DIR}/debian/changelog)
file(READ ${TURND_PACKAGING_DIR}/turnd.yaml TURND_PACKAGED_YAML)
set(TURND_SECRET_FILE_LINE "  secret_file: null\n")
string(FIND "${TURND_PACKAGED_YAML}" "${TURND_SECRET_FILE_LINE}" TURND_SECRET_FILE_AT)
if(TURND_SECRET_FILE_AT EQUAL -1)
  message(FATAL_ERROR "packaging/turnd.yaml: no '  secret_file: null' line for the packaged config")
endif()
string(REPLACE "${TURND_SECRET_FILE_LINE}" "  secret_file: ${TURND_CONF_DIR}/secret\n"
       TURND_PACKAGED_YAML "${TURND_PACKAGED_YAML}")
file(WRITE ${TURND_PACKAGE_BUILD_DIR}/turnd.yaml.tmp "${TURND_PACKAGED_YAML}")
configure_file(${TURND_PACKAGE_BUILD_DIR}/turnd.yaml.tmp ${TURND_PACKAGE_BUILD_DIR}/turnd.yaml
               COPYONLY)

# Compressed at configure time: man pages and the changelog are small and change rarely.
find_program(TURND_GZIP gzip REQUIRED)
function(turnd_gzip source destination)
  get_filename_component(dir ${destination} DIRECTORY)
  file(MAKE_DIRECTORY ${dir})
  execute_process(COMMAND ${TURND_GZIP} -9 -n -c ${source} OUTPUT_FILE ${destination}
                  COMMAND_ERROR_IS_FATAL ANY)
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${source})
endfunction()
# turnd.yaml(5) quotes the documented default config whole: every key, default and comment.
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
             ${TURND_PACKAGING_DIR}/man/turnd.yaml.5.in)
file(READ ${TURND_PACKAGING_DIR}/turnd.yaml TURND_YAML)
string(REPLACE "\\" "\\e" TURND_YAML "${TURND_YAML}")
string(REPLACE "-" "\\-" TURND_YAML "${TURND_YAML}")
string(REGEX REPLACE "\n+$" "" TURND_YAML "${TURND_YAML}")
file(READ ${TURND_PACKAGING_DIR}/man/turnd.yaml.5.in TURND_MAN5)
string(REPLACE "@TURND_YAML@" "${TURND_YAML}" TURND_MAN5 "${TURND_MAN5}")
file(WRITE ${TURND_PACKAGE_BUILD_DIR}/man/turnd.yaml.5 "${TURND_MAN5}")
turnd_gzip(${TURND_PACKAGE_BUILD_DIR}/man/turnd.yaml.5 ${TURND_PACKAGE_BUILD_DIR}/man/turnd.yaml.5.gz)
foreach(page turnd.8 turnctl.1)
  turnd_gzip(${TURND_PACKAGING_DIR}/man/${page} ${TURND_PACKAGE_BUILD_DIR}/man/${page}.gz)
endforeach()
# changelog.Debian.gz: the newest entry carries this version.
file(READ ${TURND_PACKAGING_DIR}/debian/changelog TURND_CHANGELOG)
string(REPLACE "@VERSION@" "${PROJECT_VERSION}-${TURND_PACKAGE_RELEASE}" TURND_CHANGELOG
       "${TURND_CHANGELOG}")
file(WRITE ${TURND_PACKAGE_BUILD_DIR}/changelog.Debian "${TURND_CHANGELOG}")
turnd_gzip(${TURND_PACKAGE_BUILD_DIR}/changelog.Debian
           ${TURND_PACKAGE_BUILD_DIR}/doc/changelog.Debian.gz)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
             ${TURND_PACKAGING_DIR}/rpm/changelog.in)
file(READ ${TURND_PACKAGING_DIR}/rpm/changelog.in TURND_CHANGELOG)
string(REPLACE "@VERSION@" "${PROJECT_VERSION}-${TURND_PACKAGE_RELEASE}" TURND_CHANGELOG
       "${TURND_CHANGELOG}")
file(WRITE ${TURND_PACKAGE_BUILD_DIR}/rpm/changelog "${TURND_CHANGELOG}")

# Maintainer scripts: scripts/functions.sh pasted into each template (same code for deb and rpm).
file(READ ${TURND_PACKAGING_DIR}/scripts/functions.sh TURND_SCRIPT_FUNCTIONS)
foreach(script debian/postinst debian/postrm rpm/pre.sh rpm/post.sh)
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
               ${TURND_PACKAGING_DIR}/${script}.in ${TURND_PACKAGING_DIR}/scripts/functions.sh)
  file(READ ${TURND_PACKAGING_DIR}/${script}.in TURND_SCRIPT)
  string(REPLACE "@TURND_SCRIPT_FUNCTIONS@" "${TURND_SCRIPT_FUNCTIONS}" TURND_SCRIPT
         "${TURND_SCRIPT}")
  file(WRITE ${TURND_PACKAGE_BUILD_DIR}/${script}.tmp "${TURND_SCRIPT}")
  configure_file(${TURND_PACKAGE_BUILD_DIR}/${script}.tmp ${TURND_PACKAGE_BUILD_DIR}/${script}
                 COPYONLY)
  file(CHMOD ${TURND_PACKAGE_BUILD_DIR}/${script} PERMISSIONS OWNER_READ OWNER_WRITE
       OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
endforeach()
file(COPY ${TURND_PACKAGING_DIR}/debian/prerm ${TURND_PACKAGING_DIR}/debian/conffiles
     DESTINATION ${TURND_PACKAGE_BUILD_DIR}/debian)

# --- what is installed ------------------------------------------------------------------------
install(FILES ${TURND_PACKAGING_DIR}/turnd.service DESTINATION lib/systemd/system
        PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
# 0640: it may hold secrets. The deb's postinst gives it group turnd (the group does not exist
# at build time); the rpm sets it with %attr.
install(FILES ${TURND_PACKAGE_BUILD_DIR}/turnd.yaml DESTINATION ${TURND_CONF_DIR}
        PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ)
install(FILES ${TURND_PACKAGE_BUILD_DIR}/man/turnd.8.gz DESTINATION share/man/man8)
install(FILES ${TURND_PACKAGE_BUILD_DIR}/man/turnd.yaml.5.gz DESTINATION share/man/man5)
install(FILES ${TURND_PACKAGE_BUILD_DIR}/man/turnctl.1.gz DESTINATION share/man/man1)
install(FILES ${TURND_PACKAGING_DIR}/copyright DESTINATION ${TURND_DOC_DIR})
# Both packages carry it (one package layout for both; rpm has its own %changelog too).
install(FILES ${TURND_PACKAGE_BUILD_DIR}/doc/changelog.Debian.gz DESTINATION ${TURND_DOC_DIR})

# --- CPack ------------------------------------------------------------------------------------
set(CPACK_GENERATOR "DEB;RPM")
set(CPACK_PACKAGE_NAME turnd)
set(CPACK_PACKAGE_VENDOR "turnd maintainers")
set(CPACK_PACKAGE_CONTACT "turnd maintainers <maintainers@turnd.invalid>")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "STUN/TURN server for WebRTC")
string(CONCAT CPACK_PACKAGE_DESCRIPTION
       "turnd answers STUN Binding requests (RFC 8489) and relays media for\n"
       "WebRTC peers behind NATs (TURN, RFC 8656) over UDP and TCP, IPv4 and\n"
       "IPv6, with time-limited REST API credentials, Redis-shared secrets,\n"
       "Prometheus metrics and a hardened systemd service. A random REST\n"
       "secret is generated at install time.")
set(CPACK_PACKAGE_HOMEPAGE_URL "https://turnd.invalid/")
set(CPACK_RESOURCE_FILE_LICENSE ${CMAKE_SOURCE_DIR}/LICENSE)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_PACKAGE_DIRECTORY ${CMAKE_BINARY_DIR}/packages)
set(CPACK_STRIP_FILES ON)
set(CPACK_THREADS 1)

# Debian: dpkg-shlibdeps finds the library packages; the scripts need useradd (passwd).
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE ${TURND_PACKAGE_RELEASE})
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "passwd")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${TURND_PACKAGE_BUILD_DIR}/debian/conffiles ${TURND_PACKAGE_BUILD_DIR}/debian/postinst
    ${TURND_PACKAGE_BUILD_DIR}/debian/prerm ${TURND_PACKAGE_BUILD_DIR}/debian/postrm)

# rpm: Requires found by rpmbuild's autoreq from the ELF files; %config(noreplace) keeps an
# edited config on upgrade; the group exists when files are laid down (created in %pre).
set(CPACK_RPM_FILE_NAME RPM-DEFAULT)
set(CPACK_RPM_PACKAGE_RELEASE ${TURND_PACKAGE_RELEASE})
set(CPACK_RPM_PACKAGE_LICENSE MIT)
set(CPACK_RPM_PACKAGE_GROUP "System Environment/Daemons")
set(CPACK_RPM_PACKAGE_URL ${CPACK_PACKAGE_HOMEPAGE_URL})
set(CPACK_RPM_PACKAGE_DESCRIPTION ${CPACK_PACKAGE_DESCRIPTION})
set(CPACK_RPM_PACKAGE_AUTOREQ ON)
set(CPACK_RPM_PACKAGE_AUTOPROV OFF)
set(CPACK_RPM_PACKAGE_RELOCATABLE OFF)
set(CPACK_RPM_PACKAGE_REQUIRES_PRE "shadow-utils")
set(CPACK_RPM_PACKAGE_REQUIRES_POST "coreutils")
set(CPACK_RPM_SPEC_MORE_DEFINE
    "%define _build_id_links none\n%define packager ${CPACK_PACKAGE_CONTACT}")
set(CPACK_RPM_USER_FILELIST
    "%config(noreplace) %attr(0640,root,turnd) ${TURND_CONF_DIR}/turnd.yaml"
    "%dir %attr(0755,root,root) ${TURND_CONF_DIR}"
    "%license /usr/${TURND_DOC_DIR}/copyright")
set(CPACK_RPM_EXCLUDE_FROM_AUTO_FILELIST_ADDITION
    /etc /usr/lib/systemd /usr/lib/systemd/system /usr/share/man /usr/share/man/man1
    /usr/share/man/man5 /usr/share/man/man8 /usr/share/doc)
set(CPACK_RPM_PRE_INSTALL_SCRIPT_FILE ${TURND_PACKAGE_BUILD_DIR}/rpm/pre.sh)
set(CPACK_RPM_POST_INSTALL_SCRIPT_FILE ${TURND_PACKAGE_BUILD_DIR}/rpm/post.sh)
set(CPACK_RPM_PRE_UNINSTALL_SCRIPT_FILE ${TURND_PACKAGING_DIR}/rpm/preun.sh)
set(CPACK_RPM_POST_UNINSTALL_SCRIPT_FILE ${TURND_PACKAGING_DIR}/rpm/postun.sh)
set(CPACK_RPM_CHANGELOG_FILE ${TURND_PACKAGE_BUILD_DIR}/rpm/changelog)

include(CPack)
