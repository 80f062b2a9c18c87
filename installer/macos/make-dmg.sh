#!/bin/sh
# Tandem.app and a .dmg to drag it from, on macOS (UNTESTED: written here on Linux; see
# installer/README.md). Run from anywhere, with the project's Python environment active:
#   installer/macos/make-dmg.sh [--profile clinic-profile.toml]
# Signing and notarisation need the distributor's Apple Developer ID: set TANDEM_CODESIGN_IDENTITY
# ("Developer ID Application: …") and, to notarise, TANDEM_NOTARY_PROFILE (a notarytool
# keychain profile). Without them the .dmg is unsigned (fine for testing, not for couples).
set -eu
cd "$(dirname "$0")/../.."
python -m installer.build --no-deb "$@"
version="$(python -c 'from app import __version__; print(__version__)')"
app=installer/dist/Tandem.app
dmg="installer/dist/Tandem-$version.dmg"
[ -d "$app" ] || { echo "make-dmg: PyInstaller made no $app" >&2; exit 1; }
if [ -n "${TANDEM_CODESIGN_IDENTITY:-}" ]; then
  codesign --deep --force --timestamp --options runtime \
    --entitlements installer/macos/entitlements.plist \
    --sign "$TANDEM_CODESIGN_IDENTITY" "$app"
fi
staging="$(mktemp -d)"
trap 'rm -rf "$staging"' EXIT
cp -R "$app" "$staging/"
ln -s /Applications "$staging/Applications"
rm -f "$dmg"
hdiutil create -volname "Tandem $version" -srcfolder "$staging" -format UDZO "$dmg"
if [ -n "${TANDEM_CODESIGN_IDENTITY:-}" ] && [ -n "${TANDEM_NOTARY_PROFILE:-}" ]; then
  codesign --timestamp --sign "$TANDEM_CODESIGN_IDENTITY" "$dmg"
  xcrun notarytool submit "$dmg" --keychain-profile "$TANDEM_NOTARY_PROFILE" --wait
  xcrun stapler staple "$dmg"
fi
echo "$dmg"
