module example.com/shop/finalize

go 1.24

require example.com/shop/shared v0.0.0

// The shared module is a sibling folder. bakegen passes it as a named build
// context at the same relative path, so this works unchanged in the build.
replace example.com/shop/shared => ../shared
