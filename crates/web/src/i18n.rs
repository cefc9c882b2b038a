//! Screen texts in Japanese and English, and the language of a request.

use axum::http::HeaderMap;
use vsys_domain::{Lang, Msg, catalog};

catalog! {
    /// Words and sentences of the staff screens.
    pub enum Ui {
        AppName => ("ワクチン接種円滑化システム（V-SYS）", "Vaccination Support System (V-SYS)"),
        AppShort => ("V-SYS", "V-SYS"),
        SkipToContent => ("本文へ移動", "Skip to content"),
        Login => ("ログイン", "Log in"),
        Logout => ("ログアウト", "Log out"),
        Email => ("メールアドレス", "E-mail address"),
        Password => ("パスワード", "Password"),
        LoginHint => ("1人1IDでご利用ください。IDの貸与・共用は禁止されています。", "One ID per person. Never lend or share your ID."),
        TotpTitle => ("二要素認証", "Two-factor authentication"),
        TotpCode => ("確認コード（6桁）", "Verification code (6 digits)"),
        TotpHint => ("認証アプリに表示されている6桁のコードを入力してください。", "Enter the 6-digit code shown in your authenticator app."),
        TotpSetupTitle => ("二要素認証の設定", "Set up two-factor authentication"),
        TotpSetupHint => ("認証アプリ（Google Authenticator など）に次のキーを登録し、表示された6桁のコードを入力してください。", "Add this key to your authenticator app (e.g. Google Authenticator), then enter the 6-digit code it shows."),
        TotpKey => ("設定キー", "Setup key"),
        Confirm => ("確認", "Confirm"),
        Save => ("保存", "Save"),
        Create => ("作成", "Create"),
        Search => ("検索", "Search"),
        Home => ("ホーム", "Home"),
        Notices => ("お知らせ", "Notices"),
        NoNotices => ("お知らせはありません。", "There are no notices."),
        Unread => ("未読", "Unread"),
        MarkRead => ("既読にする", "Mark as read"),
        Read => ("既読", "Read"),
        Users => ("利用者管理", "Users"),
        Orgs => ("組織", "Organisations"),
        Audit => ("操作ログ", "Audit log"),
        ChangePassword => ("パスワード変更", "Change password"),
        CurrentPassword => ("現在のパスワード", "Current password"),
        NewPassword => ("新しいパスワード", "New password"),
        NewPasswordConfirm => ("新しいパスワード（確認）", "New password (again)"),
        PasswordPolicy => ("12文字以上。記号や大文字の指定はありません。長い文章のようなパスワードがおすすめです。メールアドレスやよく使われるパスワードは使えません。", "At least 12 characters. No rules on symbols or capitals: a long phrase is best. Your e-mail address and common passwords are refused."),
        PasswordChanged => ("パスワードを変更しました。", "Your password was changed."),
        ForcedChange => ("初回ログインのため、パスワードを変更してください。", "Please set your own password before you continue."),
        Name => ("氏名", "Name"),
        Role => ("役割", "Role"),
        Org => ("組織", "Organisation"),
        OrgCode => ("組織コード", "Organisation code"),
        Kind => ("種別", "Kind"),
        Status => ("状態", "Status"),
        Enabled => ("有効", "Enabled"),
        Disabled => ("無効", "Disabled"),
        Locked => ("ロック中", "Locked"),
        Unlock => ("ロック解除", "Unlock"),
        Unlocked => ("ロックを解除しました。", "The account was unlocked."),
        NewUser => ("利用者を追加", "Add a user"),
        UserCreated => ("利用者を作成しました。初回ログイン時にパスワードの変更が求められます。", "The user was created. They must change the password at first login."),
        UserSaved => ("利用者情報を保存しました。", "The user was saved."),
        InitialPassword => ("初期パスワード", "Initial password"),
        InitialPasswordHint => ("本人に安全な方法で伝えてください。初回ログイン時に変更が必要です。", "Give it to the person safely; they must change it at first login."),
        LastLogin => ("最終ログイン", "Last login"),
        Never => ("なし", "never"),
        Population => ("人口（2020年）", "Population (2020)"),
        Parent => ("上位組織", "Parent"),
        Subordinates => ("管下の組織", "Subordinate organisations"),
        Count => ("件数", "Count"),
        Total => ("合計", "Total"),
        YourTasks => ("あなたの作業", "Your tasks"),
        UnreadNotices => ("未読のお知らせ", "Unread notices"),
        ManageUsersTask => ("所属組織の利用者を管理する", "Manage your organisation's users"),
        ReviewAuditTask => ("操作ログを確認する", "Review the audit log"),
        BrowseOrgsTask => ("管下の組織を確認する", "Browse your organisations"),
        Language => ("言語", "Language"),
        Japanese => ("日本語", "日本語"),
        English => ("English", "English"),
        Action => ("操作", "Action"),
        Object => ("対象", "Object"),
        When => ("日時", "When"),
        Who => ("実行者", "Who"),
        Address => ("接続元", "Address"),
        Details => ("詳細", "Details"),
        ExportCsv => ("CSVで出力", "Export CSV"),
        From => ("開始日", "From"),
        Until => ("終了日", "Until"),
        Previous => ("前へ", "Previous"),
        Next => ("次へ", "Next"),
        Page => ("ページ", "Page"),
        ErrorTitle => ("エラー", "Error"),
        BackHome => ("ホームへ戻る", "Back to home"),
        LoggedOut => ("ログアウトしました。", "You are logged out."),
        ApiDocs => ("API仕様", "API reference"),
        Manual => ("操作マニュアル", "User manual"),
        Sites => ("接種会場・医療機関", "Sites"),
        Municipalities => ("市町村", "Municipalities"),
        Prefectures => ("都道府県", "Prefectures"),
        Suppliers => ("供給・配送事業者", "Suppliers and deliverers"),
        OrgSummary => ("組織の概要", "Organisation summary"),
        ServedAreas => ("配送担当の市町村", "Municipalities served"),
        ResetPassword => ("パスワード再設定", "Reset password"),
        PasswordResetDone => ("仮パスワードを設定しました。次回ログイン時に変更が必要です。", "A temporary password was set; it must be changed at next login."),
        Version => ("版", "Version"),
        OrgName => ("名称", "Name"),
        Cancel => ("中止してログアウト", "Cancel and log out"),
        Cycles => ("クール・ワクチン分配", "Cycles and allocation"),
        CycleName => ("クール", "Cycle"),
        CycleNumber => ("クール番号", "Cycle number"),
        Period => ("期間", "Period"),
        PeriodStart => ("開始日", "Start"),
        PeriodEnd => ("終了日", "End"),
        Deadlines => ("分配の締切", "Division deadlines"),
        DeadlinePrefecture => ("都道府県の締切", "Prefecture deadline"),
        DeadlineMunicipality => ("市町村の締切", "Municipality deadline"),
        DeadlineSite => ("医療機関の締切", "Site deadline"),
        Vaccine => ("ワクチン", "Vaccine"),
        Needle => ("針", "Needles"),
        Syringe => ("シリンジ", "Syringes"),
        MyAllocation => ("自組織の分配", "My allocation"),
        NewCycle => ("クールを作成", "Create a cycle"),
        UnitSite => ("医療機関への分配単位", "Unit allocated to sites"),
        UnitBox => ("箱", "boxes"),
        UnitVial => ("バイアル", "vials"),
        Presentation => ("包装", "Presentation"),
        DosesPerVial => ("回接種分/バイアル", "doses per vial"),
        VialsPerBox => ("バイアル/箱", "vials per box"),
        Supply => ("供給量", "Supply"),
        Supplier => ("供給元（組織コード）", "Supplier (organisation code)"),
        Product => ("品目", "Product"),
        Quantity => ("数量", "Quantity"),
        QuantityHint => ("数量（ワクチンは箱、針・シリンジはパック）", "Quantity (vaccine in boxes, needles and syringes in packs)"),
        Summary => ("集計情報", "Summary"),
        Doses => ("回接種分", "Doses"),
        Received => ("分配された量（上限）", "Received (the maximum)"),
        DividedTotal => ("下位への分配量合計", "Divided among children"),
        Remainder => ("残り", "Remainder"),
        WhyThisAmount => ("この量になった理由", "Why this amount"),
        ConfirmAction => ("確認済にする", "Mark confirmed"),
        Autofill => ("自動入力", "Auto-fill"),
        Simulate => ("分配シミュレーション", "Allocation simulation"),
        FinishAction => ("分配完了にする", "Mark division finished"),
        FinishConfirm => ("分配完了にすると、下位の組織に分配量が通知されます。よろしいですか。", "Finishing notifies the organisations below of their amounts. Continue?"),
        FinaliseAction => ("確定する", "Finalise"),
        FinaliseConfirm => ("確定すると、管下の分配量は変更できなくなり、配送が始まります。よろしいですか。", "After finalising, no amount below can change and deliveries start. Continue?"),
        DivisionLines => ("分配量", "Division"),
        Amount => ("分配量", "Amount"),
        Breakdown => ("内訳", "Breakdown"),
        SendBack => ("差し戻す", "Send back"),
        ImportCsv => ("CSVを取り込む", "Import CSV"),
        ImportHint => ("UTF-8 または Shift_JIS。列「組織コード」「分配量」が必要です。1行でも誤りがあれば何も変更しません。", "UTF-8 or Shift_JIS, with the columns 組織コード and 分配量. Nothing changes if any row is wrong."),
        SimTotal => ("分配する総量", "Total to divide"),
        RunSimulation => ("シミュレーションを実行", "Run the simulation"),
        Undistributed => ("上限により配り切れない量", "Left undivided by caps"),
        RoundedOff => ("単位に満たず分配できない量", "Too small for a whole unit"),
        Current => ("現在", "Current"),
        Simulated => ("シミュレーション", "Simulated"),
        Difference => ("差", "Difference"),
        ApplySimulation => ("この条件で自動入力して保存", "Apply: auto-fill with these weights and save"),
        FallbackNote => ("接種可能量・希望量を報告していない医療機関・接種会場があります。報告済みの分は納品希望量を上限とし、報告がない分は上限をかけずに按分します。報告済み", "Some sites have not reported their request and capacity: reported sites are capped at their request, the others are not capped. Reported"),
        RequestsTitle => ("接種可能量・希望量の報告", "Capacity and request"),
        CapacityDoses => ("接種可能量（上限、回接種分）", "Capacity (upper limit, doses)"),
        RequestedDoses => ("納品希望量（回接種分）", "Requested delivery (doses)"),
        Storage => ("保管管理", "Storage"),
        StorageDryIce => ("ドライアイス", "Dry ice"),
        StorageFreezer => ("冷凍庫", "Freezer"),
        NeedlesNeeded => ("針の必要量（本）", "Needles needed"),
        SyringesNeeded => ("シリンジの必要量（本）", "Syringes needed"),
        RequestSaved => ("報告を保存しました。", "Your report was saved."),
        AllocStatus => ("状況", "Status"),
        Chain => ("分配の流れ", "Allocation chain"),
        ChainStandard => ("通常（国→都道府県→市町村→医療機関・接種会場）", "Standard (nation → prefecture → municipality → sites)"),
        ChainPriority => ("医療従事者等への先行接種（市町村単位は国が確定、医療機関へは都道府県が分配）", "Priority programme (the nation fixes municipality amounts; prefectures allocate to institutions)"),
        ProductsShort => ("マスタ・供給ルール", "Products & rules"),
        NewProduct => ("品目を登録", "Register a product"),
        Spec => ("規格", "Specification"),
        StorageClass => ("保管温度", "Storage"),
        UnitsPerPack => ("1パックの本数（針・シリンジ）", "Pieces per pack (needles, syringes)"),
        NeedsDryIce => ("輸送にドライアイスが必要", "Needs dry ice in transport"),
        NeedlesPerDose => ("1回接種あたりの針（1000 = 1本）", "Needles per dose (1000 = one)"),
        SyringesPerDose => ("1回接種あたりのシリンジ（1000 = 1本）", "Syringes per dose (1000 = one)"),
        PackRounding => ("パック単位の端数処理", "Rounding to whole packs"),
        DryIceUltraCold => ("ドライアイス（超低温、g/箱）", "Dry ice, ultra-cold (g per box)"),
        DryIceFrozen => ("ドライアイス（冷凍、g/箱）", "Dry ice, frozen (g per box)"),
        Unit => ("単位", "Unit"),
        AutofillConfirm => ("自動入力すると、いまの分配量は計算結果で置き換えられます。よろしいですか。", "Auto-fill replaces the current amounts with the computed ones. Continue?"),
        SendBackConfirm => ("この組織の分配を差し戻します。よろしいですか。", "Send this organisation's division back?"),
        Products => ("ワクチン・針・シリンジマスタ", "Products"),
        SupplyRulesTitle => ("供給ルール", "Supply rules"),
        // Sites (医療機関・接種会場), stock, results.
        SiteInfo => ("医療機関情報", "Site details"),
        DetailsMissing => ("医療機関情報を登録してください", "Please register your site's details"),
        DetailsMissingHint => ("電話番号・接種日時・保管設備などを登録してください。国民向けサイトにも掲載されます。", "Register your phone number, hours, storage equipment and so on. They are also shown on the public site."),
        RegisterDetails => ("医療機関情報を登録する", "Register the details"),
        ReservationStatus => ("予約受付状況", "Reservation status"),
        ReservationCurrent => ("現在の状況", "Current status"),
        ReservationHint => ("ボタンを押すと、国民向けサイトの表示がすぐに切り替わります。", "One click changes what the public site shows."),
        SetAt => ("更新日時", "Updated"),
        NotYet => ("未設定", "Not set"),
        OpenCycles => ("受付中のクール（接種可能量・納品希望量の報告）", "Open cycles (capacity and requested delivery)"),
        NoOpenCycles => ("受付中のクールはありません。", "No cycle is open for requests."),
        ReportBy => ("締切", "Deadline"),
        ResultsEntry => ("接種実績を入力する", "Enter vaccination results"),
        AllocatedToSite => ("分配されたワクチン量", "Vaccine allocated to you"),
        NoAllocations => ("分配されたワクチンはまだありません。", "Nothing has been allocated to you yet."),
        ScheduledDelivery => ("納入予定日", "Scheduled delivery"),
        ActualDelivery => ("納入実績日", "Delivered on"),
        Undecided => ("未定", "Not fixed yet"),
        ReservableFrom => ("{date}以降、{n}回接種分の予約の受付が可能です", "From {date} you can accept bookings for {n} doses"),
        ReservableUnknown => ("配送予定日が決まると、予約を受け付けられる回数と日付が表示されます", "Once a delivery date is fixed, the number of doses you can book and from when are shown here"),
        StockAllows => ("現在の在庫で{n}回分の接種が可能です", "Your current stock allows {n} doses"),
        CurrentStock => ("現在の在庫", "Current stock"),
        StockDoses => ("在庫（回接種分）", "Stock (doses)"),
        StockVials => ("在庫（バイアル）", "Stock (vials)"),
        GivenInWindow => ("直近14日の接種回数", "Doses given in the last 14 days"),
        DaysOfSupply => ("在庫日数（直近14日の接種ペース）", "Days of supply (at the last 14 days' rate)"),
        LastEntry => ("最終記録", "Last entry"),
        IdleStock => ("偏在（使われていない在庫）", "Idle stock"),
        Yes => ("あり", "Yes"),
        No => ("なし", "No"),
        Days => ("日", "days"),
        Municipality => ("市町村", "Municipality"),
        MunicipalityCode => ("市町村コード", "Municipality code"),
        SiteKind => ("区分", "Kind"),
        ContractStatus => ("契約状況", "Contract"),
        SiteType => ("種別", "Type"),
        ReservationShort => ("予約", "Booking"),
        DetailsRegistered => ("詳細登録", "Details"),
        ConfirmedCol => ("確認", "Confirmed"),
        ChangeRequests => ("変更申請", "Change requests"),
        Registered => ("登録済", "Registered"),
        NotRegistered => ("未登録", "Not registered"),
        ConfirmedMark => ("確認済", "Confirmed"),
        Unconfirmed => ("未確認", "Unconfirmed"),
        FilterAll => ("すべて", "All"),
        FilterPending => ("承認待ちの変更", "Changes awaiting approval"),
        FilterUnconfirmed => ("未確認の協力医療機関", "Unconfirmed cooperating institutions"),
        NoSites => ("該当する医療機関・接種会場はありません。", "No sites match."),
        NewMunicipalSite => ("集団接種会場の登録", "Register a municipal vaccination site"),
        SiteCreated => ("集団接種会場を登録しました。", "The vaccination site was registered."),
        PostalCode => ("郵便番号", "Postal code"),
        StreetAddress => ("住所", "Address"),
        Representative => ("代表者", "Representative"),
        FacilityCode => ("老健施設等コード", "Care facility code"),
        ImportSites => ("医療機関の一括登録（CSV）", "Bulk registration of institutions (CSV)"),
        ImportSitesHint => ("UTF-8 または Shift_JIS。1行でも誤りがあれば何も登録しません。登録済みの医療機関コードの行は更新されます。", "UTF-8 or Shift_JIS. Nothing is registered if any row is wrong. Rows with a known institution code update it."),
        DownloadTemplate => ("テンプレートをダウンロード", "Download the template"),
        ImportFile => ("CSVファイル", "CSV file"),
        ImportStart => ("取り込みを開始", "Start the import"),
        ImportQueued => ("開始を待っています", "Waiting to start"),
        ImportReading => ("ファイルを読み込んでいます", "Reading the file"),
        ImportChecking => ("内容を確認しています", "Checking the rows"),
        ImportWriting => ("登録しています", "Registering"),
        ImportDone => ("取り込みが完了しました。", "The import is complete."),
        ImportFailed => ("取り込めませんでした。何も登録していません。ファイルを直して、もう一度取り込んでください。", "The import failed and nothing was registered. Correct the file and import it again."),
        ImportRows => ("行数", "Rows"),
        ImportCreated => ("作成", "Created"),
        ImportUpdated => ("更新", "Updated"),
        ImportUnchanged => ("変更なし", "Unchanged"),
        RowsDone => ("行", "rows"),
        Refresh => ("最新の状態を表示", "Refresh"),
        RegistryTitle => ("登録情報（契約時の登録内容）", "Registered entry"),
        RegistryChange => ("登録情報の変更", "Change the registered entry"),
        RegistryChangeHint => ("医療機関・接種会場からの変更は、市町村の承認後に反映されます。", "Changes made by the site itself take effect once the municipality approves them."),
        ChangeApplied => ("変更を反映しました。", "The change was applied."),
        ChangeFiled => ("変更を申請しました。市町村の承認待ちです。", "The change was filed and awaits the municipality's approval."),
        AwaitingApproval => ("市町村の承認待ち", "Awaiting the municipality's approval"),
        Field => ("項目", "Field"),
        OldValue => ("変更前", "Before"),
        NewValue => ("変更後", "After"),
        RequestedAt => ("申請日時", "Requested"),
        Approve => ("承認", "Approve"),
        Reject => ("却下", "Reject"),
        RejectConfirm => ("この変更申請を却下します。よろしいですか。", "Reject this change request?"),
        ChangeApproved => ("変更申請を承認しました。", "The change was approved."),
        ChangeRejected => ("変更申請を却下しました。", "The change was rejected."),
        ConfirmInstitution => ("協力医療機関として確認", "Confirm as a cooperating institution"),
        ConfirmedAt => ("確認日時", "Confirmed on"),
        InstitutionConfirmed => ("協力医療機関として確認しました。", "The institution was confirmed."),
        DetailsTitle => ("医療機関情報（詳細）", "Site details"),
        DetailsHint => ("初回ログイン時に登録してください。いつでも変更でき、変更はすぐに反映されます。", "Register these at first login. You can change them at any time; changes take effect at once."),
        DetailsAt => ("詳細の登録日時", "Details registered"),
        DetailsSaved => ("医療機関情報を保存しました。", "The details were saved."),
        Phone => ("電話番号", "Phone"),
        Website => ("ホームページ", "Website"),
        Hours => ("接種日時・診療時間", "Hours"),
        VaccinesHandled => ("取扱ワクチン", "Vaccines handled"),
        AcceptsNonRegular => ("かかりつけ以外の方も接種可能", "Vaccinates people who are not regular patients"),
        Access => ("アクセス", "Access"),
        Parking => ("駐車場", "Parking"),
        FreezersUltraCold => ("超低温冷凍庫（−75℃）の台数", "Ultra-cold freezers (−75 °C)"),
        FreezersMinus20 => ("冷凍庫（−20℃）の台数", "Freezers (−20 °C)"),
        StorageLocation => ("保管場所", "Storage location"),
        HubTitle => ("基本型・サテライト型", "Hub or satellite"),
        HubCode => ("基本型の医療機関コード（サテライト型の場合）", "Hub's code (for a satellite)"),
        HubSaved => ("種別を保存しました。", "The type was saved."),
        Doctors => ("医師", "Doctors"),
        ShowDoctors => ("医師情報を表示", "Show the doctors"),
        DoctorsHint => ("医師情報は個人情報です。表示した記録は操作ログに残ります。", "Doctors' data is personal data; every display is recorded in the audit log."),
        NoDoctors => ("登録されている医師はいません。", "No doctors are registered."),
        DoctorName => ("医師の氏名", "Doctor's name"),
        RegistrationNumber => ("医籍登録番号", "Registration number"),
        AddDoctor => ("医師を追加", "Add a doctor"),
        Remove => ("削除", "Remove"),
        RemoveDoctorConfirm => ("この医師を削除します。よろしいですか。", "Remove this doctor?"),
        DoctorAdded => ("医師を追加しました。", "The doctor was added."),
        DoctorRemoved => ("医師を削除しました。", "The doctor was removed."),
        StockTitle => ("在庫", "Stock"),
        Lots => ("ロット別の在庫", "Stock by lot"),
        Lot => ("ロット番号", "Lot"),
        Vials => ("バイアル数", "Vials"),
        Ledger => ("在庫の記録", "Stock ledger"),
        LedgerHint => ("記録は書き換えられません。誤りは「訂正」で取り消しの記録を追加します。接種実績による記録は、その日の実績を入力し直してください。", "Entries are never overwritten: a correction adds a reversing entry. Entries from results are corrected by entering that day again."),
        LedgerLatest => ("新しい順に最大200件を表示しています。", "The latest 200 entries are shown."),
        EntryKind => ("区分", "Kind"),
        Reason => ("理由", "Reason"),
        Reference => ("参照", "Reference"),
        Correct => ("訂正", "Correct"),
        CorrectionReason => ("訂正の理由", "Reason for the correction"),
        Corrected => ("訂正済", "Corrected"),
        CorrectionSaved => ("訂正を記録しました。", "The correction was recorded."),
        NoEntries => ("記録はありません。", "No entries."),
        Receive => ("入荷の登録", "Register a receipt"),
        ReceiveHint => ("配送以外で入荷したワクチンを登録します（市町村・都道府県・国の担当者）。", "For vaccine that did not arrive through a delivery in the system (municipality, prefecture or nation staff)."),
        LatestCycle => ("最新のクール", "Latest cycle"),
        ReceiptSaved => ("入荷を登録しました。", "The receipt was registered."),
        Transfer => ("サテライト型への移送", "Transfer to a satellite"),
        TransferTo => ("移送先（サテライト型の医療機関コード）", "To (the satellite's code)"),
        TransferSaved => ("移送を登録しました。", "The transfer was registered."),
        ResultsTitle => ("接種実績", "Vaccination results"),
        ResultsHint => ("その日の接種回数を入力してください（累計ではありません）。同じ日を入力し直すと、以前の記録を取り消して新しい数で記録します。", "Enter the doses given that day (not a running total). Entering a day again reverses what was recorded and records the new numbers."),
        ResultsDay => ("接種日", "Day"),
        ShowDay => ("この日を表示", "Show this day"),
        TotalDoses => ("接種回数（合計）", "Doses given (total)"),
        Elderly => ("うち高齢者（65歳以上）", "Of which aged 65 and over"),
        Underlying => ("うち基礎疾患を有する者", "Of which with underlying conditions"),
        OthersCount => ("うちその他", "Of which others"),
        WastedVials => ("廃棄本数（バイアル）", "Vials wasted"),
        WasteReason => ("廃棄理由", "Reason for waste"),
        ResultsSaved => ("接種実績を保存しました。", "The results were saved."),
        RecentResults => ("直近14日の実績", "The last 14 days"),
        Edit => ("修正", "Edit"),
        NoResults => ("実績はありません。", "No results."),
        ReportingPeriods => ("接種実績の入力期間", "Reporting periods"),
        FirstDay => ("開始日", "First day"),
        LastDay => ("終了日", "Last day"),
        OpenPeriod => ("入力期間を開始", "Open a reporting period"),
        ClosePeriod => ("締め切る", "Close"),
        ClosePeriodConfirm => ("この入力期間を締め切ります。よろしいですか。", "Close this reporting period?"),
        PeriodOpen => ("受付中", "Open"),
        PeriodClosed => ("締切済", "Closed"),
        PeriodOpened => ("入力期間を開始しました。医療機関・接種会場に通知しました。", "The period was opened and the sites were notified."),
        PeriodClosedFlash => ("入力期間を締め切りました。", "The period was closed."),
        NoPeriods => ("入力期間はありません。", "There are no reporting periods."),
        DayAlreadyEntered => ("この日の実績は既に入力されています。表示した内容を確認し、修正して保存してください。", "Results for this day were entered before. Check them below, change them and save."),
        DayNotOpen => ("この日は入力期間に含まれていません。", "This day is not in an open reporting period."),
        IdleTitle => ("在庫の偏在", "Idle stock"),
        IdleHint => ("直近14日の接種ペースで28日分を超える在庫が残っている医療機関・接種会場です（在庫の多い順）。", "Sites whose stock would last more than 28 days at the last 14 days' rate (most stock first)."),
        NoIdle => ("該当する医療機関・接種会場はありません。", "No site has idle stock."),
        ReservationSaved => ("予約受付状況を更新しました。", "The reservation status was updated."),
    }
}

/// The label of a form field named in a validation error.
pub fn field_label(field: &str, lang: Lang) -> &'static str {
    let u = match field {
        "org_code" | "parent_code" => Ui::OrgCode,
        "email" => Ui::Email,
        "name" => Ui::Name,
        "role" => Ui::Role,
        "password" => Ui::InitialPassword,
        "current_password" => Ui::CurrentPassword,
        "new_password" => Ui::NewPassword,
        "confirm_password" => Ui::NewPasswordConfirm,
        "code" => Ui::TotpCode,
        "kind" => Ui::Kind,
        "amount" => Ui::Amount,
        "needles" => Ui::Needle,
        "syringes" => Ui::Syringe,
        "number" => Ui::CycleNumber,
        "period_start" => Ui::PeriodStart,
        "period_end" => Ui::PeriodEnd,
        "vaccine_id" => Ui::Vaccine,
        "needle_id" => Ui::Needle,
        "syringe_id" => Ui::Syringe,
        "unit_site" => Ui::UnitSite,
        "quantity" => Ui::Quantity,
        "supplier_code" => Ui::Supplier,
        "product_id" => Ui::Product,
        "unit" => Ui::Unit,
        "storage_class" => Ui::StorageClass,
        "doses_per_vial" => Ui::DosesPerVial,
        "vials_per_box" => Ui::VialsPerBox,
        "units_per_pack" => Ui::UnitsPerPack,
        "owner_code" => Ui::Supplier,
        "from_cycle" => Ui::CycleNumber,
        "pack_rounding" => Ui::PackRounding,
        "capacity_doses" => Ui::CapacityDoses,
        "requested_doses" => Ui::RequestedDoses,
        "storage" => Ui::Storage,
        "deadline" => Ui::DeadlineSite,
        "needles_per_dose_milli" => Ui::NeedlesPerDose,
        "syringes_per_dose_milli" => Ui::SyringesPerDose,
        "dry_ice_grams_ultra_cold" => Ui::DryIceUltraCold,
        "dry_ice_grams_frozen" => Ui::DryIceFrozen,
        "phone" => Ui::Phone,
        "website" => Ui::Website,
        "hours" => Ui::Hours,
        "vaccines" => Ui::VaccinesHandled,
        "accepts_non_regular" => Ui::AcceptsNonRegular,
        "access" => Ui::Access,
        "parking" => Ui::Parking,
        "freezers_ultra_cold" => Ui::FreezersUltraCold,
        "freezers_minus20" => Ui::FreezersMinus20,
        "storage_location" => Ui::StorageLocation,
        "postal_code" => Ui::PostalCode,
        "municipality_code" => Ui::MunicipalityCode,
        "address" => Ui::StreetAddress,
        "representative" => Ui::Representative,
        "contract_status" => Ui::ContractStatus,
        "facility_code" => Ui::FacilityCode,
        "site_type" => Ui::SiteType,
        "hub_code" => Ui::HubCode,
        "registration_number" => Ui::RegistrationNumber,
        "reservation" => Ui::ReservationStatus,
        "lot" => Ui::Lot,
        "vials" => Ui::Vials,
        "cycle_id" => Ui::CycleName,
        "to" => Ui::TransferTo,
        "reason" => Ui::CorrectionReason,
        "day" => Ui::ResultsDay,
        "total" => Ui::TotalDoses,
        "elderly" => Ui::Elderly,
        "underlying" => Ui::Underlying,
        "others" => Ui::OthersCount,
        "wasted_vials" => Ui::WastedVials,
        "waste_reason" => Ui::WasteReason,
        "first_day" => Ui::FirstDay,
        "last_day" => Ui::LastDay,
        "file" => Ui::ImportFile,
        _ => return "",
    };
    u.text(lang)
}

/// The screen texts in one language; templates call `l.t(Ui::…)` and `l.m(Msg::…)`.
#[derive(Debug, Clone, Copy)]
pub struct L(pub Lang);

impl L {
    pub fn t(&self, u: Ui) -> &'static str {
        u.text(self.0)
    }
    pub fn m(&self, m: Msg) -> &'static str {
        m.text(self.0)
    }
    pub fn code(&self) -> &'static str {
        self.0.code()
    }
    pub fn is_en(&self) -> bool {
        self.0 == Lang::En
    }
}

pub const LANG_COOKIE: &str = "vsys_lang";

/// The language of a request: the `vsys_lang` cookie, else `Accept-Language`, else Japanese.
pub fn lang_of(headers: &HeaderMap) -> Lang {
    cookie(headers, LANG_COOKIE)
        .and_then(|v| Lang::parse(&v))
        .or_else(|| {
            headers
                .get("accept-language")
                .and_then(|v| v.to_str().ok())
                .and_then(Lang::from_accept_language)
        })
        .unwrap_or_default()
}

/// A cookie's value from the request headers.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// An integer with thousands separators (`260,851`), as both languages write it.
pub fn int(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// Shows a timestamp in Japan time (UTC+9, no daylight saving).
pub fn jst(t: &chrono::DateTime<chrono::Utc>) -> String {
    match chrono::FixedOffset::east_opt(9 * 3600) {
        Some(o) => t.with_timezone(&o).format("%Y/%m/%d %H:%M").to_string(),
        None => t.format("%Y/%m/%d %H:%M UTC").to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_ui_texts_in_both_languages() {
        for u in Ui::ALL {
            assert!(
                !u.text(Lang::Ja).is_empty() && !u.text(Lang::En).is_empty(),
                "{}",
                u.key()
            );
        }
    }

    #[test]
    fn thousands() {
        assert_eq!(int(260851), "260,851");
        assert_eq!(int(-1000), "-1,000");
        assert_eq!(int(999), "999");
        assert_eq!(int(126226568), "126,226,568");
    }

    #[test]
    fn times_in_japan() {
        let t = chrono::DateTime::parse_from_rfc3339("2026-03-01T15:30:00Z")
            .map(|t| t.with_timezone(&chrono::Utc))
            .unwrap_or_default();
        assert_eq!(jst(&t), "2026/03/02 00:30");
    }
}
