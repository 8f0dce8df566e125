# `cmake --install` and the Debian package (`cpack -G DEB` in the build folder), laid out
# the way an operator of a Debian service expects:
#   /usr/bin/redflag
#   /etc/redflag/redflag.yaml             the config (a conffile: upgrades keep local edits)
#   /etc/redflag/rules/*.rules, tests/    the shipped rules and their tests (conffiles)
#   /lib/systemd/system/redflag.service   Type=notify, hardened (deploy/redflag.service)
#   /usr/share/doc/redflag/               README.md, the example config, Prometheus and Grafana files
#   /var/lib/redflag                      state, owned by the system user `redflag` (postinst)
# The maintainer scripts are deploy/debian/{postinst,prerm,postrm}.
include(GNUInstallDirs)

set(redflag_etc /etc/redflag)
set(redflag_doc ${CMAKE_INSTALL_DATAROOTDIR}/doc/redflag)

# The web console (ui/, with its npm chart library) is compiled into the binary.
install(TARGETS redflag RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES deploy/redflag.yaml DESTINATION ${redflag_etc} PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ)
file(GLOB shipped_rules CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/rules/*.rules)
file(GLOB shipped_rule_tests CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/rules/tests/*.yaml)
install(FILES ${shipped_rules} DESTINATION ${redflag_etc}/rules)
install(FILES ${shipped_rule_tests} DESTINATION ${redflag_etc}/rules/tests)
install(FILES deploy/redflag.service DESTINATION /lib/systemd/system)
install(FILES README.md examples/redflag.yaml deploy/prometheus/prometheus.yml deploy/prometheus/redflag-alerts.yml
        DESTINATION ${redflag_doc})
install(DIRECTORY deploy/grafana DESTINATION ${redflag_doc})

# Everything under /etc is the operator's: listed as conffiles.
set(conffiles "${redflag_etc}/redflag.yaml\n")
foreach(f ${shipped_rules})
  get_filename_component(name ${f} NAME)
  string(APPEND conffiles "${redflag_etc}/rules/${name}\n")
endforeach()
foreach(f ${shipped_rule_tests})
  get_filename_component(name ${f} NAME)
  string(APPEND conffiles "${redflag_etc}/rules/tests/${name}\n")
endforeach()
file(WRITE ${CMAKE_BINARY_DIR}/debian/conffiles "${conffiles}")
foreach(script postinst prerm postrm)
  configure_file(${CMAKE_SOURCE_DIR}/deploy/debian/${script} ${CMAKE_BINARY_DIR}/debian/${script} COPYONLY
                 FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
endforeach()

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME redflag)
set(CPACK_PACKAGE_VENDOR "Redflag")
set(CPACK_PACKAGE_CONTACT "Redflag maintainers <dev@redflag.local>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "streaming red-flag alerts and KPIs for Customer Success teams")
set(CPACK_PACKAGE_DESCRIPTION
    "Redflag takes customer webhooks (usage, tickets, NPS, CSAT, contracts), keeps each account's state in RocksDB, evaluates rule files, raises red-flag alerts to Slack, email and webhooks (Alertmanager too) and exports CS KPIs to Prometheus.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES TRUE)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)  # dpkg-shlibdeps: the Debian 12 libraries it links
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${CMAKE_BINARY_DIR}/debian/conffiles ${CMAKE_BINARY_DIR}/debian/postinst ${CMAKE_BINARY_DIR}/debian/prerm
    ${CMAKE_BINARY_DIR}/debian/postrm)
include(CPack)
