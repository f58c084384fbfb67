# jdiffusion: sourced by ./mvnw before anything else. Maven must run on a JDK 25 or newer (the build
# compiles for release 25 and the tests use the FFM and Vector APIs), but a machine's default `java`
# is often older. When JAVA_HOME does not name a JDK >= 25, look for one as ./jdiffusion does:
# /usr/lib/jvm (Linux packages), /Library/Java/JavaVirtualMachines (macOS), ~/.sdkman, then `java` on
# PATH; export the first found as JAVA_HOME. When none is found nothing changes and the enforcer rule
# in pom.xml says what is missing. POSIX sh (mvnw is /bin/sh); names are prefixed, mvnw shares the shell.

_jdk25_major() { # the major version of the JDK home $1, from its release file (no JVM start) or `java -version`
  _jdk25_v=""
  [ -f "$1/release" ] && _jdk25_v="$(sed -n 's/^JAVA_VERSION="\([0-9][0-9]*\).*/\1/p' "$1/release")"
  if [ -z "$_jdk25_v" ] && [ -x "$1/bin/java" ]; then
    _jdk25_v="$("$1/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = \([0-9][0-9]*\).*/\1/p')"
  fi
  echo "$_jdk25_v"
}

_jdk25_ok() { # whether $1 is a JDK (java and javac) of version 25 or newer
  [ -n "$1" ] && [ -x "$1/bin/java" ] && [ -x "$1/bin/javac" ] || return 1
  _jdk25_m="$(_jdk25_major "$1")"
  [ -n "$_jdk25_m" ] && [ "$_jdk25_m" -ge 25 ] 2>/dev/null
}

if ! _jdk25_ok "${JAVA_HOME:-}"; then
  _jdk25_path_java="$(command -v java 2>/dev/null || true)"
  [ -n "$_jdk25_path_java" ] && _jdk25_path_java="$(dirname "$(dirname "$(readlink -f "$_jdk25_path_java" 2>/dev/null || echo "$_jdk25_path_java")")")"
  for _jdk25_cand in /usr/lib/jvm/temurin-25-jdk-* /usr/lib/jvm/*25* /usr/lib/jvm/* \
      /Library/Java/JavaVirtualMachines/*/Contents/Home "$HOME"/.sdkman/candidates/java/* "$_jdk25_path_java"; do
    if _jdk25_ok "$_jdk25_cand"; then
      [ -n "${JAVA_HOME:-}" ] && echo "mvnw: JAVA_HOME=$JAVA_HOME is not a JDK 25 or newer; using $_jdk25_cand" >&2
      JAVA_HOME="$_jdk25_cand"
      export JAVA_HOME
      break
    fi
  done
fi
unset _jdk25_v _jdk25_m _jdk25_cand _jdk25_path_java
