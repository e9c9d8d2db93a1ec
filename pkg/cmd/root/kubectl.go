package root

import (
	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/kubectl/pkg/cmd/annotate"
	"k8s.io/kubectl/pkg/cmd/clusterinfo"
	"k8s.io/kubectl/pkg/cmd/diff"
	"k8s.io/kubectl/pkg/cmd/edit"
	"k8s.io/kubectl/pkg/cmd/explain"
	"k8s.io/kubectl/pkg/cmd/label"
	"k8s.io/kubectl/pkg/cmd/patch"
	"k8s.io/kubectl/pkg/cmd/replace"
	"k8s.io/kubectl/pkg/cmd/scale"
	"k8s.io/kubectl/pkg/cmd/top"
	utilcomp "k8s.io/kubectl/pkg/util/completion"

	"github.com/openvessel/ccictl/pkg/cmd/auth"
	"github.com/openvessel/ccictl/pkg/cmd/events"
	"github.com/openvessel/ccictl/pkg/cmd/logs"
	"github.com/openvessel/ccictl/pkg/cmd/remote"
	"github.com/openvessel/ccictl/pkg/cmd/rollout"
	"github.com/openvessel/ccictl/pkg/cmd/wait"
	"github.com/openvessel/ccictl/pkg/cmdutil"
)

// Command groups of `ccictl --help`, in kubectl's order and with kubectl's
// titles, so a kubectl user finds each verb where they expect it.
const (
	groupBeginner     = "basic-beginner"
	groupIntermediate = "basic-intermediate"
	groupDeploy       = "deploy"
	groupCluster      = "cluster"
	groupTroubleshoot = "troubleshooting"
	groupAdvanced     = "advanced"
	groupSettings     = "settings"
	groupOther        = "other"
)

func addGroups(root *cobra.Command) {
	root.AddGroup(
		&cobra.Group{ID: groupBeginner, Title: "Basic Commands (Beginner):"},
		&cobra.Group{ID: groupIntermediate, Title: "Basic Commands (Intermediate):"},
		&cobra.Group{ID: groupDeploy, Title: "Deploy Commands:"},
		&cobra.Group{ID: groupCluster, Title: "Cluster Management Commands:"},
		&cobra.Group{ID: groupTroubleshoot, Title: "Troubleshooting and Debugging Commands:"},
		&cobra.Group{ID: groupAdvanced, Title: "Advanced Commands:"},
		&cobra.Group{ID: groupSettings, Title: "Settings Commands:"},
		&cobra.Group{ID: groupOther, Title: "Other Commands:"},
	)
	root.SetHelpCommandGroupID(groupOther)
}

// kubectlVerbs are the generic verbs taken unchanged from
// k8s.io/kubectl/pkg/cmd, each with the help group kubectl puts it in. They
// run on kubectl's Factory over ccictl's config loading, so flags, output,
// messages and exit codes are kubectl's.
func kubectlVerbs(f *cmdutil.Factory, streams genericiooptions.IOStreams) map[string][]*cobra.Command {
	kf := f.Kubectl()
	return map[string][]*cobra.Command{
		groupIntermediate: {explain.NewCmdExplain("ccictl", kf, streams), edit.NewCmdEdit(kf, streams)},
		groupDeploy:       {rollout.NewCmdRollout(f, streams), scale.NewCmdScale(kf, streams)},
		groupCluster:      {clusterinfo.NewCmdClusterInfo(kf, streams), top.NewCmdTop(kf, streams)},
		groupTroubleshoot: {
			logs.NewCmdLogs(f, streams), remote.NewCmdExec(f, streams), remote.NewCmdPortForward(f, streams),
			remote.NewCmdCp(f, streams), auth.NewCmdAuth(f, streams), events.NewCmdEvents(f, streams),
			// logs, events, exec, port-forward and cp are kubectl's, ending on the command's context
		},
		groupAdvanced: {
			diff.NewCmdDiff(kf, streams), patch.NewCmdPatch(kf, streams), replace.NewCmdReplace(kf, streams),
			wait.NewCmdWait(f, streams), // kubectl's, waiting through pkg/waitfor
		},
		groupSettings: {label.NewCmdLabel(kf, streams), annotate.NewCmdAnnotate("ccictl", kf, streams)},
	}
}

// groupOf places ccictl's own commands.
var groupOf = map[string]string{
	"create":        groupBeginner,
	"get":           groupIntermediate,
	"delete":        groupIntermediate,
	"sync":          groupDeploy,
	"describe":      groupTroubleshoot,
	"apply":         groupAdvanced,
	"validate":      groupAdvanced,
	"completion":    groupSettings,
	"api-resources": groupOther,
	"api-versions":  groupOther,
	"config":        groupOther,
	"version":       groupOther,
	"docs":          groupOther,
}

// addKubectlVerbs attaches kubectl's verbs and puts every command of root in
// its help group.
func addKubectlVerbs(root *cobra.Command, f *cmdutil.Factory, streams genericiooptions.IOStreams) {
	utilcomp.SetFactoryForCompletion(f.Kubectl())
	for group, cmds := range kubectlVerbs(f, streams) {
		for _, c := range cmds {
			cmdutil.RenameKubectlExamples(c)
			c.GroupID = group
			root.AddCommand(c)
		}
	}
	for _, c := range root.Commands() {
		if g, ok := groupOf[c.Name()]; ok && c.GroupID == "" {
			c.GroupID = g
		}
	}
}
