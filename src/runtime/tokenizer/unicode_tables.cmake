# Generates the tokenizer's Unicode tables at build time from the Unicode Character
# Database of Debian's unicode-data package (scripts/setup.sh installs it).
set(AAE_UCD_DIR /usr/share/unicode CACHE PATH "Unicode Character Database (UnicodeData.txt, ...)")
set(AAE_UNICODE_TABLES_C ${CMAKE_CURRENT_BINARY_DIR}/tokenizer/unicode_tables.c)
if(NOT EXISTS ${AAE_UCD_DIR}/UnicodeData.txt)
  message(FATAL_ERROR "${AAE_UCD_DIR}/UnicodeData.txt not found: install Debian's unicode-data (scripts/setup.sh) or set AAE_UCD_DIR")
endif()
add_custom_command(
  OUTPUT ${AAE_UNICODE_TABLES_C}
  COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_CURRENT_BINARY_DIR}/tokenizer
  COMMAND /usr/bin/python3 ${PROJECT_SOURCE_DIR}/scripts/gen_unicode_tables.py ${AAE_UCD_DIR} ${AAE_UNICODE_TABLES_C}
  DEPENDS ${PROJECT_SOURCE_DIR}/scripts/gen_unicode_tables.py ${AAE_UCD_DIR}/UnicodeData.txt
          ${AAE_UCD_DIR}/DerivedNormalizationProps.txt
  COMMENT "Generating Unicode tables from ${AAE_UCD_DIR}"
  VERBATIM)
list(APPEND AAE_RUNTIME_GENERATED_SOURCES ${AAE_UNICODE_TABLES_C})
