"""Root architecture as arrays: segments, radii, ages, types; RSML I/O; simple growth."""
