# Sourced by the benchmarks: sets $host to what kind of KVM host this is, as
# every benchmark prints it next to its ratios.
if [ -e /sys/module/kvm_pvm ]; then
	host="kvm_pvm (software nested hypervisor: guest CPL0 code emulated by KVM)"
elif grep -qwE 'vmx|svm' /proc/cpuinfo; then
	host="hardware virtualization ($(grep -owE 'vmx|svm' /proc/cpuinfo | head -1))"
else
	host="unknown (no kvm_pvm, no vmx/svm flag)"
fi
