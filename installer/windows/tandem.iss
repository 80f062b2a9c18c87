; Inno Setup script for Tandem on Windows (UNTESTED: written here on Linux; see installer/README.md).
;
; Build the bundle first (on Windows: python -m installer.build --no-deb), then:
;   iscc /DAppVersion=0.1.0 installer\windows\tandem.iss
; AppVersion must be app/__init__.py's __version__ (the CI workflow passes it from there).
; Output: installer\dist\tandem-<version>-setup.exe
;
; A clinic's profile: put clinic-profile.toml beside tandem-<version>-setup.exe when installing;
; it is copied next to tandem.exe, where the app looks for it (installer/README.md).

#ifndef AppVersion
  #error Pass the version: iscc /DAppVersion=X.Y.Z (from app/__init__.py)
#endif

[Setup]
AppId={{5E0B7C2A-4F4B-4C1E-9D7E-7A6E3B1F2C90}
AppName=Tandem
AppVersion={#AppVersion}
AppVerName=Tandem {#AppVersion}
AppPublisher=Tandem
DefaultDirName={autopf}\Tandem
DefaultGroupName=Tandem
DisableProgramGroupPage=yes
; Per user without administrator rights unless the person (or an IT person) picks all users.
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir=..\dist
OutputBaseFilename=tandem-{#AppVersion}-setup
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
UninstallDisplayIcon={app}\tandem-gui.exe
UninstallDisplayName=Tandem

[Tasks]
Name: "desktopicon"; Description: "Put Tandem on the desktop"; Flags: unchecked

[Files]
Source: "..\dist\tandem\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs
; The clinic's settings, when the clinic put them beside this installer.
Source: "{src}\clinic-profile.toml"; DestDir: "{app}"; Flags: external skipifsourcedoesntexist

[Icons]
Name: "{autoprograms}\Tandem"; Filename: "{app}\tandem-gui.exe"
Name: "{autodesktop}\Tandem"; Filename: "{app}\tandem-gui.exe"; Tasks: desktopicon

[Run]
Filename: "{app}\tandem-gui.exe"; Description: "Open Tandem now"; Flags: nowait postinstall skipifsilent
