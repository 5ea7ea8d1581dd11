# A test module (outside pytest's default file names, so this fixture's own test runs stay as they are).
