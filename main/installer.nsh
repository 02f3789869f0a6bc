; Included by electron-builder's NSIS installer (electron-builder.yml, nsis.include). A per-machine
; install runs elevated, which registering an event log source needs: the app's audit copies are
; written under it (docs/it-guide.md, "Reading and forwarding the audit log").
!macro customInstall
  nsExec::ExecToLog `powershell.exe -NoProfile -NonInteractive -Command "if (-not [System.Diagnostics.EventLog]::SourceExists('Gatehouse')) { New-EventLog -LogName Application -Source Gatehouse }"`
!macroend

; The source goes with the app; the events already written stay in the Application log.
!macro customUnInstall
  nsExec::ExecToLog `powershell.exe -NoProfile -NonInteractive -Command "if ([System.Diagnostics.EventLog]::SourceExists('Gatehouse')) { Remove-EventLog -Source Gatehouse }"`
!macroend
