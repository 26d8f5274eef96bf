# InfluxDB 1.x from Debian's package (influxd 1.6), the InfluxDB of deploy/podman/offline-compose.py
# where no image registry (and so no influxdb:1.8) is reachable. From the repository root:
#
#   bash deploy/podman/build-image.sh --dockerfile deploy/podman/influxdb.Dockerfile --tag cdn-influxdb:1.6
#
# The listeners are the environment's to set: INFLUXDB_HTTP_BIND_ADDRESS (default :8086) and
# INFLUXDB_BIND_ADDRESS (the RPC service, default 127.0.0.1:8088). Data in /var/lib/influxdb.
ARG DEBIAN_RELEASE=12
FROM debian:${DEBIAN_RELEASE}-slim
# policy-rc.d: the package's scripts do not start the service while it is installed.
RUN printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d \
 && apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends influxdb \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/* /var/log/apt /var/log/dpkg.log /var/cache/debconf/*-old \
      /var/lib/dpkg/*-old /usr/sbin/policy-rc.d \
 && mkdir -p /var/lib/influxdb && chown influxdb:influxdb /var/lib/influxdb
ENV INFLUXDB_REPORTING_DISABLED=true \
    INFLUXDB_HTTP_LOG_ENABLED=false \
    INFLUXDB_DATA_QUERY_LOG_ENABLED=false \
    INFLUXDB_MONITOR_STORE_ENABLED=false \
    INFLUXDB_BIND_ADDRESS=127.0.0.1:8088
USER influxdb
VOLUME /var/lib/influxdb
CMD ["influxd", "-config", "/etc/influxdb/influxdb.conf"]
