; Inno Setup 6 script for the Windows installer; installers\build-windows.ps1 -Installer runs it with
; /DAppVersion=… /DRoot=<clone> after PyInstaller has made dist\neuralforge. Per-user install by default (no
; administrator rights needed), a Start-menu entry, an optional desktop icon, and .nfg files open in the editor.
#ifndef AppVersion
  #define AppVersion "0.0.0"
#endif
#ifndef Root
  #define Root "..\.."
#endif

[Setup]
AppId={{6B1E3D52-9C0A-4F7E-8E55-0B6C5A4E2F19}
AppName=NeuralForge
AppVersion={#AppVersion}
AppPublisher=NeuralForge
DefaultDirName={autopf}\NeuralForge
DefaultGroupName=NeuralForge
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir={#Root}\dist
OutputBaseFilename=NeuralForge-{#AppVersion}-setup
SetupIconFile={#Root}\resources\icons\neuralforge.ico
UninstallDisplayIcon={app}\neuralforge.exe
Compression=lzma2/max
SolidCompression=yes
ChangesAssociations=yes
WizardStyle=modern

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
Source: "{#Root}\dist\neuralforge\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{group}\NeuralForge"; Filename: "{app}\neuralforge.exe"; Parameters: "app"
Name: "{group}\Uninstall NeuralForge"; Filename: "{uninstallexe}"
Name: "{autodesktop}\NeuralForge"; Filename: "{app}\neuralforge.exe"; Parameters: "app"; Tasks: desktopicon

[Registry]
Root: HKA; Subkey: "Software\Classes\.nfg"; ValueType: string; ValueName: ""; ValueData: "NeuralForge.Graph"; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\NeuralForge.Graph"; ValueType: string; ValueName: ""; ValueData: "NeuralForge graph"; Flags: uninsdeletekey
Root: HKA; Subkey: "Software\Classes\NeuralForge.Graph\DefaultIcon"; ValueType: string; ValueName: ""; ValueData: "{app}\neuralforge.exe,0"
Root: HKA; Subkey: "Software\Classes\NeuralForge.Graph\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\neuralforge.exe"" app ""%1"""

[Run]
Filename: "{app}\neuralforge.exe"; Parameters: "app"; Description: "{cm:LaunchProgram,NeuralForge}"; Flags: nowait postinstall skipifsilent
