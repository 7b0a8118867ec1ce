"""Ground-truth checks behind `minihft verify`."""
