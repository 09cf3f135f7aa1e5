# Sourced by the scripts: lets OpenMPI run as root (containers, CI) and
# oversubscribe when a demo asks for more ranks than cores. Harmless for MPICH.
if [ "$(id -u)" = 0 ]; then
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
export OMPI_MCA_rmaps_base_oversubscribe=${OMPI_MCA_rmaps_base_oversubscribe:-1}
