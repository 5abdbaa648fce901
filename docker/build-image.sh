#!/bin/sh
#
# "make image": builds the sidecar image with podman or buildah.
#
#   FLAVOUR=debian   docker/Dockerfile: debian:bookworm-slim, Debian's nginx
#                    1.22.1; tag $IMAGE:debian-bookworm (the default)
#   FLAVOUR=nginx    docker/Dockerfile.nginx: the official nginx image of
#                    NGINX_IMAGE_VERSION (1.30.4); tag $IMAGE:nginx-<version>
#   BASE=debootstrap the Debian flavour's base made here from Debian's
#                    packages by debootstrap (for machines that reach
#                    Debian's mirror but no image registry)
#   IMAGE            the image name (nginx-gamma)
#
# The base image must be local or pullable: when it is neither, this says
# so and exits 1.  Building needs root (or a rootless podman set up).

set -eu

flavour=${FLAVOUR:-debian}
base=${BASE:-registry}
image=${IMAGE:-nginx-gamma}
nginx_version=${NGINX_IMAGE_VERSION:-1.30.4}
rootfs_dir=${ROOTFS_DIR:-build/image}

say() {
    echo "make image: $*" >&2
}

if command -v podman >/dev/null 2>&1; then
    tool=podman
    build="podman build"
elif command -v buildah >/dev/null 2>&1; then
    tool=buildah
    build="buildah bud"
else
    say "needs podman or buildah (Debian: apt-get install podman, or" \
        "buildah); none is installed"
    exit 1
fi

# as root without a container runtime set up, chroot isolation works
isolation=
if [ "$(id -u)" = 0 ]; then
    isolation="--isolation ${BUILDAH_ISOLATION:-chroot}"
fi

case "$flavour" in
    debian)
        file=docker/Dockerfile
        tag=$image:debian-bookworm
        from=docker.io/library/debian:bookworm-slim
        ;;
    nginx)
        file=docker/Dockerfile.nginx
        tag=$image:nginx-$nginx_version
        from=docker.io/library/nginx:$nginx_version
        ;;
    *)
        say "FLAVOUR=$flavour: debian or nginx"
        exit 2
        ;;
esac

have_image() {
    if [ $tool = podman ]; then
        podman image exists "$1"
    else
        buildah inspect --type image "$1" >/dev/null 2>&1
    fi
}

args=

if [ "$base" = debootstrap ]; then
    [ "$flavour" = debian ] || {
        say "BASE=debootstrap makes a Debian base only: FLAVOUR=nginx needs" \
            "the official nginx image ($from)"
        exit 1
    }
    command -v buildah >/dev/null 2>&1 || {
        say "BASE=debootstrap needs buildah (apt-get install buildah)"
        exit 1
    }
    command -v debootstrap >/dev/null 2>&1 || {
        say "BASE=debootstrap needs debootstrap (apt-get install debootstrap)"
        exit 1
    }

    from=localhost/gamma-debootstrap:bookworm
    if ! have_image "$from"; then
        rootfs=$rootfs_dir/bookworm-rootfs
        say "making $from with debootstrap in $rootfs"
        rm -rf "$rootfs"
        mkdir -p "$rootfs_dir"
        debootstrap --variant=minbase bookworm "$rootfs" \
            http://deb.debian.org/debian > "$rootfs_dir/debootstrap.log" 2>&1 ||
            { tail -5 "$rootfs_dir/debootstrap.log" >&2
              say "debootstrap failed"; exit 1; }
        ctr=$(buildah from scratch)
        mnt=$(buildah mount "$ctr")
        cp -a "$rootfs/." "$mnt/"
        buildah umount "$ctr" >/dev/null
        buildah config --cmd /bin/bash "$ctr"
        buildah commit -q "$ctr" "$from" >/dev/null
        buildah rm "$ctr" >/dev/null
        rm -rf "$rootfs"
    fi
    args="--build-arg DEBIAN_IMAGE=$from"

elif ! have_image "$from"; then
    say "pulling the base image $from"
    if ! err=$($tool pull "$from" 2>&1 >/dev/null); then
        say "cannot obtain the base image $from:"
        echo "$err" | tail -1 >&2
        if [ $tool = podman ]; then
            load="podman load -i image.tar"
        else
            load="buildah pull docker-archive:image.tar"
        fi
        say "this machine reaches no image registry.  Load the image first" \
            "($load), or build the Debian flavour's base from Debian's" \
            "packages: make image BASE=debootstrap"
        exit 1
    fi
fi

[ "$flavour" = nginx ] && args="--build-arg NGINX_VERSION=$nginx_version"

say "$build -f $file -t $tag"
# shellcheck disable=SC2086
$build $isolation $args -f "$file" -t "$tag" .
say "built $tag"
