"""Hardware behind small interfaces: camera, microphone, speaker. One real implementation each,
fakes (synthetic frames and sine waves) for tests and practice mode. Nothing opens a device on
import or in a constructor."""
